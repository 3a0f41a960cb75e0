"""Flashing a board's own disk through a flasher OS that U-Boot network-boots (`flasher-os`)."""

from __future__ import annotations

from collections.abc import Sequence

from hil_drivers.flasher_os.driver import FlasherOs
from pytest_hil import hookimpl
from pytest_hil.interfaces import Driver


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    return [FlasherOs]
