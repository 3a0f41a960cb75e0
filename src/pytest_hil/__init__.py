"""pytest-hil: hardware-in-the-loop testing with plain pytest."""

import pluggy

from pytest_hil.board import Board
from pytest_hil.console.shell import (
    BootFailed,
    CommandFailed,
    CommandTimeout,
    LoginRefused,
    ShellLoggedOut,
    ShellUnreachable,
)
from pytest_hil.console.stream import ConsoleClosed, ConsoleTimeout
from pytest_hil.errors import DriverError, DriverLoadError, DriverUnavailable, HilError, LabError, SelectorError
from pytest_hil.leases import LeaseLost

#: Marks a driver package's hook implementations (`@hookimpl def hil_drivers(): ...`).
hookimpl = pluggy.HookimplMarker("pytest_hil")

__all__ = [
    "Board",
    "BootFailed",
    "CommandFailed",
    "CommandTimeout",
    "ConsoleClosed",
    "ConsoleTimeout",
    "DriverError",
    "DriverLoadError",
    "DriverUnavailable",
    "HilError",
    "LabError",
    "LeaseLost",
    "LoginRefused",
    "SelectorError",
    "ShellLoggedOut",
    "ShellUnreachable",
    "hookimpl",
]
