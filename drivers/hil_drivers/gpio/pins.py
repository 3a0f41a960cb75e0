"""gpiozero pin factories by the name a lab file uses: `default` (gpiozero's own choice for this
machine) or `mock` (one set of simulated pins per process, shared by every driver and the simulated
board, so a test can drive and read the same lines)."""

from __future__ import annotations

from typing import Any

from pytest_hil.errors import DriverUnavailable
from pytest_hil.interfaces import DriverContext


def pin_factory(name: str, context: DriverContext | None = None) -> Any:
    """gpiozero's pin factory for `name`."""
    try:
        from gpiozero import Device
    except ImportError:
        where = f"{context}: " if context else ""
        raise DriverUnavailable(f"{where}gpiozero is not installed (pip install 'pytest-hil[gpio]')") from None
    if name == "mock":
        from gpiozero.pins.mock import MockFactory

        if not isinstance(Device.pin_factory, MockFactory):
            Device.pin_factory = MockFactory()
    return Device.pin_factory


def pin_number(name: str) -> int | str:
    """`17` -> 17; `GPIO17` and `BOARD11` stay names gpiozero understands."""
    return int(name) if name.isdigit() else name
