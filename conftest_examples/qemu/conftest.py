"""Builds the QEMU board's initramfs (busybox, getty on ttyS0, a root login) before the first test.

Run:  pytest --hil-lab=conftest_examples/qemu/lab.yaml conftest_examples/qemu
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hil_drivers.qemu.initramfs import build_initramfs, find_busybox

INITRD = Path(__file__).parent / "build" / "initramfs.cpio.gz"


def pytest_configure(config: pytest.Config) -> None:
    if not INITRD.exists() and find_busybox() is not None:
        INITRD.parent.mkdir(exist_ok=True)
        build_initramfs(INITRD, password=os.environ.get("QEMU_ROOT_PASSWORD", "hil"))
