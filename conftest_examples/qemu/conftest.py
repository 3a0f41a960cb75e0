"""Builds the QEMU board's initramfs (busybox, getty on ttyS0, a root login) before the first test.

Run:  pytest --hil-lab=conftest_examples/qemu/lab.yaml conftest_examples/qemu
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hil_drivers.qemu.initramfs import build_initramfs, find_busybox

INITRD = Path(__file__).parent / "build" / "initramfs.cpio.gz"
KERNEL = Path(os.environ.get("HIL_QEMU_KERNEL") or Path(__file__).parent / "../../.ci/cache/kernel/vmlinuz")


def pytest_configure(config: pytest.Config) -> None:
    if not INITRD.exists() and find_busybox() is not None:
        INITRD.parent.mkdir(exist_ok=True)
        build_initramfs(INITRD, password=os.environ.get("QEMU_ROOT_PASSWORD", "hil"))


@pytest.fixture(autouse=True)
def _stand_ins() -> None:
    """Skip, saying what to do, on a machine without the QEMU board's kernel or busybox."""
    if not KERNEL.exists():
        pytest.skip(f"no kernel for the QEMU board at {KERNEL}: run .ci/stand-ins (it fetches a Debian kernel) "
                    "or set HIL_QEMU_KERNEL to an x86_64 kernel")  # fmt: skip
    if find_busybox() is None:
        pytest.skip("busybox-static is not installed: run .ci/stand-ins (or apt-get install busybox-static)")
