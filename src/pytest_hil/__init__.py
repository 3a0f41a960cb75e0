"""pytest-hil: hardware-in-the-loop testing with plain pytest."""

import pluggy

from pytest_hil.board import Board
from pytest_hil.errors import DriverError, DriverLoadError, HilError, LabError, SelectorError

#: Marks a driver package's hook implementations (`@hookimpl def hil_drivers(): ...`).
hookimpl = pluggy.HookimplMarker("pytest_hil")

__all__ = ["Board", "DriverError", "DriverLoadError", "HilError", "LabError", "SelectorError", "hookimpl"]
