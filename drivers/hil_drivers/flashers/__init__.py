"""Microcontroller flashers: probe-rs and OpenOCD through a debug probe, esptool through an ESP chip's
serial bootloader. Each is a `flasher`: `flash(path, ...)`, `reset()`, `erase()`."""

from __future__ import annotations

from collections.abc import Sequence

from hil_drivers.flashers.esptool import Esptool
from hil_drivers.flashers.openocd import OpenOcd
from hil_drivers.flashers.probe_rs import ProbeRs
from pytest_hil import hookimpl
from pytest_hil.interfaces import Driver


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    return [ProbeRs, OpenOcd, Esptool]
