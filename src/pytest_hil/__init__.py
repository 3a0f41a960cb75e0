"""pytest-hil: hardware-in-the-loop testing with plain pytest.

`Board` is imported when first used: a plain `import pytest_hil.x` stays cheap (pytest loads the
plugin in every run, also in runs that use no board).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

from pytest_hil.errors import (
    BootFailed,
    CommandFailed,
    CommandTimeout,
    ConsoleClosed,
    ConsoleTimeout,
    DriverError,
    DriverLoadError,
    DriverUnavailable,
    HilError,
    ImageError,
    LabError,
    LeaseError,
    LeaseLost,
    LeaseTimeout,
    LoginRefused,
    SelectorError,
    ShellLoggedOut,
    ShellUnreachable,
)
from pytest_hil.lazy import lazy_names

if TYPE_CHECKING:
    from pytest_hil.board import Board

#: Marks a driver package's hook implementations (`@hookimpl def hil_drivers(): ...`).
hookimpl = pluggy.HookimplMarker("pytest_hil")


__getattr__ = lazy_names(__name__, {"Board": "pytest_hil.board"})


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
    "ImageError",
    "LabError",
    "LeaseError",
    "LeaseLost",
    "LeaseTimeout",
    "LoginRefused",
    "SelectorError",
    "ShellLoggedOut",
    "ShellUnreachable",
    "hookimpl",
]
