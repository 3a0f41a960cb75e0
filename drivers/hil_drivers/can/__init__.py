"""CAN buses through python-can."""

from __future__ import annotations

from collections.abc import Sequence

from hil_drivers.can.bus import CanBus
from pytest_hil import hookimpl
from pytest_hil.interfaces import Driver


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    return [CanBus]
