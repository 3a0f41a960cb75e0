"""Builds the initramfs the board network-boots (busybox, a root login), the flasher OS and the board's
disk, finds this machine's address as the board sees it, and skips, saying why, where the stand-ins
are missing.

Run (as root):  pytest --hil-lab=conftest_examples/bootloader/lab.yaml conftest_examples/bootloader
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from hil_drivers.flasher_os.system import build_flasher_initramfs
from hil_drivers.qemu.initramfs import build_initramfs, find_busybox

HERE = Path(__file__).parent
INITRD = HERE / "build" / "initramfs.cpio.gz"
FLASHER_OS = HERE / "build" / "flasher.cpio.gz"
DISK = HERE / "build" / "disk.img"
KERNEL = Path(os.environ.get("HIL_QEMU_KERNEL") or HERE / "../../.ci/cache/kernel/vmlinuz")
ROM = Path("/usr/lib/u-boot/qemu-x86/u-boot.rom")


def kernel_modules() -> Path:
    """The kernel's modules (a Debian kernel package unpacked: boot/vmlinuz-VERSION, lib/modules/VERSION)."""
    kernel = KERNEL.resolve()
    return kernel.parent.parent / "lib" / "modules" / kernel.name.removeprefix("vmlinuz-")


def pytest_configure(config: pytest.Config) -> None:
    DISK.parent.mkdir(exist_ok=True)
    if not DISK.exists():
        with DISK.open("wb") as disk:
            disk.truncate(16 << 20)
    if find_busybox() is None:
        return
    if not INITRD.exists():
        build_initramfs(INITRD, password=os.environ.get("QEMU_ROOT_PASSWORD", "hil"))
    if not FLASHER_OS.exists() and kernel_modules().is_dir():
        # the modules for the board's disk and its virtio network card (U-Boot's e1000 is not needed)
        build_flasher_initramfs(FLASHER_OS, kernel_modules(), ["virtio_blk", "virtio_pci", "virtio_net"])


@pytest.fixture(autouse=True)
def _stand_ins() -> None:
    """Skip, saying what to do, on a machine without what the board needs."""
    if not ROM.is_file():
        pytest.skip(f"no U-Boot ROM at {ROM}: apt-get install u-boot-qemu (or run .ci/stand-ins)")
    if not KERNEL.exists():
        pytest.skip(f"no kernel at {KERNEL}: run .ci/stand-ins or set HIL_QEMU_KERNEL to an x86_64 kernel")
    if find_busybox() is None:
        pytest.skip("busybox-static is not installed: run .ci/stand-ins (or apt-get install busybox-static)")


@pytest.fixture
def lab_address() -> str:
    """This machine as the board reaches it through QEMU's user network: its own address (QEMU answers
    TFTP to 10.0.2.2 itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.254", 9))  # sends nothing: the route decides the address
        address = str(probe.getsockname()[0])
    if address.startswith("127."):
        pytest.skip("this machine has no network address the board could reach")
    return address


@pytest.fixture
def boot_images() -> tuple[Path, Path]:
    """The kernel and the initramfs the board network-boots."""
    return KERNEL, INITRD


@pytest.fixture
def need_flasher_os() -> None:
    if not FLASHER_OS.exists():
        pytest.skip(f"no flasher OS: the kernel's modules are not in {kernel_modules()}")


@pytest.fixture
def board_disk() -> Path:
    """The board's own disk, as this machine sees the file."""
    return DISK


@pytest.fixture
def need_tftp_port() -> None:
    if os.geteuid() != 0:
        pytest.skip("U-Boot only asks TFTP port 69: run as root (or grant CAP_NET_BIND_SERVICE)")
