"""Storage a board boots from: block devices and files written by the host."""

from __future__ import annotations

from collections.abc import Sequence

from hil_drivers.storage.block import BlockStorage
from pytest_hil import hookimpl
from pytest_hil.interfaces import Driver


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    return [BlockStorage]
