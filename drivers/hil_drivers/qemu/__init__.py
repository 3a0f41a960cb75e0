"""The QEMU virtual board: a real kernel and userland behind a serial console, powered through QMP."""

from __future__ import annotations

from collections.abc import Sequence

from hil_drivers.qemu.disk import QemuDisk
from hil_drivers.qemu.machine import Qemu
from pytest_hil import hookimpl
from pytest_hil.interfaces import Driver


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    return [Qemu, QemuDisk]
