"""flasher-os on the QEMU U-Boot board with a virtio disk: U-Boot network-boots the flasher OS (a
busybox initramfs with the disk and network modules), which fetches the image from the http-server
resource, writes it to /dev/vda, reads it back and reports its sha256; a mismatch, an image the disk
cannot hold and bad references each fail in one line. Needs root: U-Boot only asks TFTP port 69.

The board has two network cards on QEMU's user network: an e1000 for U-Boot (its build has no
virtio-net) and a virtio one for the flasher OS (the cloud kernel has no e1000 module)."""

from __future__ import annotations

import lzma
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hil_drivers.flasher_os.system import build_flasher_initramfs
from pytest_hil.board import Board
from pytest_hil.errors import DriverError, LabError
from pytest_hil.interfaces import Console, FileServer, Flasher
from pytest_hil.lab import load_lab
from tests.test_tftp_server import outward_address
from tests.test_uboot import ROM

MIB = 1 << 20
DISK = 16 * MIB
LAB = """\
version: 1
boards:
  b:
    resources:
      vm: {{driver: qemu, arch: x86_64, bios: {rom}, memory: 512M, network: true, nic_model: e1000,
           disk: ["{disk}"], extra_args: [-nic, "user,model=virtio-net-pci"], timeout: 60}}
      boot: {{driver: uboot, console: vm, power: vm}}
      files: {{driver: http-server, host: 0.0.0.0}}
      tftp: {{driver: tftp-server, port: 69}}
      flasher: {{driver: flasher-os, bootloader: boot, console: vm, power: vm, http: files, tftp: tftp,
                kernel: "{kernel}", initramfs: "{initramfs}", timeout: 300}}
"""


@pytest.fixture(scope="module")
def flasher_os(qemu_kernel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    version = qemu_kernel.name.removeprefix("vmlinuz-")
    modules = qemu_kernel.parent.parent / "lib" / "modules" / version
    if not modules.is_dir():
        pytest.skip(f"the kernel's modules are not in {modules}")
    return build_flasher_initramfs(
        tmp_path_factory.mktemp("flasher") / "flasher.cpio.gz",
        modules_dir=modules,
        modules=["virtio_blk", "virtio_pci", "virtio_net"],
    )


@pytest.fixture
def lab(tmp_path: Path, qemu_kernel: Path, flasher_os: Path) -> Path:
    if not ROM.is_file() or os.geteuid() != 0 or outward_address() is None:
        reason = "needs u-boot-qemu, root (U-Boot's TFTP client only asks port 69) and a network address"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    (tmp_path / "disk.img").write_bytes(bytes(DISK))
    path = tmp_path / "lab.yaml"
    path.write_text(LAB.format(rom=ROM, disk=tmp_path / "disk.img", kernel=qemu_kernel, initramfs=flasher_os))
    return path


@pytest.fixture
def board(lab: Path) -> Iterator[Board]:
    with Board(load_lab(lab).boards["b"], lab.parent) as board:
        yield board


def test_a_compressed_image_lands_on_the_disk_and_the_board_reads_the_same_sha256(board: Board, tmp_path: Path) -> None:
    payload = os.urandom(MIB) + bytes(5 * MIB) + os.urandom(MIB) + b"end"
    image = tmp_path / "rootfs.img.xz"
    image.write_bytes(lzma.compress(payload, preset=0))
    flasher = board.get(Flasher, "flasher")
    flasher.flash(image)
    disk = (tmp_path / "disk.img").read_bytes()
    assert len(disk) == DISK and disk[: len(payload)] == payload and disk[len(payload) :] == bytes(DISK - len(payload))
    assert board.get(FileServer, "files").sent("rootfs.img.xz") == image.stat().st_size  # sent compressed
    notes = "\n".join(board.logs.notes)
    assert "sha256 checked on the board" in notes and "flasher-os: power cycle" in notes
    board.get(Console, "vm").expect_exact("Hit any key to stop autoboot", timeout=60)  # reset afterwards
    flasher.erase()
    assert (tmp_path / "disk.img").read_bytes() == bytes(DISK)


def test_a_write_that_reads_back_otherwise_fails_naming_both_digests(board: Board, tmp_path: Path) -> None:
    image = tmp_path / "app.img"
    image.write_bytes(os.urandom(MIB))
    with pytest.raises(DriverError) as failed:
        board.get(Flasher, "flasher").flash(image, target="/dev/null")  # written, and reads back empty
    assert str(failed.value).startswith("board b, resource flasher: app.img on /dev/null does not match:")
    assert "the board read back 0 bytes with sha256 e3b0c442" in str(failed.value)
    assert f"the image has {MIB} bytes" in str(failed.value)


def test_hil_flash_via_the_flasher_says_in_one_line_when_the_disk_cannot_hold_the_image(
    lab: Path, tmp_path: Path
) -> None:
    image = tmp_path / "huge.img.gz"
    with subprocess.Popen(["gzip", "-1", "-c"], stdin=subprocess.PIPE, stdout=image.open("wb")) as packer:
        assert packer.stdin is not None
        packer.stdin.write(bytes(DISK + MIB))
    done = subprocess.run(
        [sys.executable, "-m", "pytest_hil.cli.main", "--lab", str(lab), "flash", "b", str(image), "--via", "flasher"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "HIL_LEASE_URL": f"sqlite://{tmp_path}/l.db"},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    said = f"hil: board b, resource flasher: the flasher OS: the image is {DISK + MIB} bytes, /dev/vda holds {DISK}"
    lines = done.stderr.strip().splitlines()
    assert lines[-1] == said and [line for line in lines if "hil:" in line] == [said]
    assert lines[0].startswith("flash b flasher: huge.img.gz [")  # the progress line, ended before the error
    assert (tmp_path / "disk.img").read_bytes() == bytes(DISK)  # nothing written


def test_hil_flash_via_the_flasher_writes_the_disk(lab: Path, tmp_path: Path) -> None:
    image = tmp_path / "small.img"
    image.write_bytes(os.urandom(3 * MIB + 5))
    done = subprocess.run(
        [sys.executable, "-m", "pytest_hil.cli.main", "--lab", str(lab), "flash", "b", str(image), "--via", "flasher",
         "--target", "/dev/vda"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "HIL_LEASE_URL": f"sqlite://{tmp_path}/l.db"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("b: flashed small.img via flasher in ")
    assert (tmp_path / "disk.img").read_bytes()[: 3 * MIB + 5] == image.read_bytes()


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("http: web", "flasher.http: no resource called 'web' on this board (it has: vm, boot, files, tftp)"),
        ("http: tftp", "flasher.http: 'tftp' is a tftp-server resource (none), not a http-server"),
        ("bootloader: vm", "flasher.bootloader: 'vm' is a qemu resource (power, console), not a bootloader"),
    ],
)
def test_references_the_flasher_cannot_use_are_errors_at_their_line(tmp_path: Path, change: str, said: str) -> None:
    key = change.split(":")[0]
    text = LAB.format(rom=ROM, disk=tmp_path / "d", kernel=tmp_path / "k", initramfs=tmp_path / "i")
    text = text.replace(f"{key}: {'files' if key == 'http' else 'boot'},", f"{change},")
    (tmp_path / "lab.yaml").write_text(text)
    with pytest.raises(LabError) as failed:
        load_lab(tmp_path / "lab.yaml")
    assert f"lab.yaml:10: boards.b.resources.{said}" in str(failed.value)


def test_an_image_that_cannot_be_unpacked_fails_before_the_board_is_touched(board: Board, tmp_path: Path) -> None:
    image = tmp_path / "broken.img.xz"
    image.write_bytes(lzma.compress(os.urandom(MIB))[: MIB // 2])
    with pytest.raises(DriverError, match=r"^board b, resource flasher: image broken.img.xz cannot be read: "):
        board.get(Flasher, "flasher").flash(image)
    assert getattr(board.resource("vm"), "process", "?") is None  # QEMU never started
