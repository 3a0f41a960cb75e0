"""pytest-hil: hardware-in-the-loop testing with plain pytest.

`Board` is imported when first used: a plain `import pytest_hil.x` stays cheap (pytest loads the
plugin in every run, also in runs that use no board).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from pytest_hil.board import Board

#: Marks a driver package's hook implementations (`@hookimpl def hil_drivers(): ...`).
hookimpl = pluggy.HookimplMarker("pytest_hil")


def __getattr__(name: str) -> Any:
    """`Board`, imported at first use."""
    if name != "Board":
        raise AttributeError(f"module 'pytest_hil' has no attribute {name!r}")
    from pytest_hil.board import Board

    globals()["Board"] = Board
    return Board


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
