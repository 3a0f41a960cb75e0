"""qemu-disk: the QEMU board's disk image as storage: flashed while off, refused while QEMU runs."""

from __future__ import annotations

import hashlib
import lzma
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hil_drivers.qemu.disk import QemuDisk
from hil_drivers.qemu.machine import Qemu
from pytest_hil.board import Board
from pytest_hil.console.log import BoardLogs
from pytest_hil.console.shell import console_shell
from pytest_hil.errors import DriverError
from pytest_hil.lab import load_lab
from tests.conftest import qemu_lab_text

MIB = 2**20


@pytest.fixture
def board(qemu_kernel: Path, qemu_disk_initramfs: Path, tmp_path: Path) -> Iterator[Board]:
    disk = tmp_path / "a,b,disk.img"  # QEMU's -drive reads commas as separators unless doubled
    text = qemu_lab_text(qemu_kernel, qemu_disk_initramfs, extra=f', disk: ["{disk}"]')
    lab_text = text.replace("    shell:", f'      storage: {{driver: qemu-disk, path: "{disk}"}}\n    shell:')
    (tmp_path / "lab.yaml").write_text(lab_text)
    lab = load_lab(tmp_path / "lab.yaml")
    board = Board(lab.boards["qemu-01"], tmp_path, BoardLogs("qemu-01", tmp_path / "logs", lab.secrets))
    yield board
    assert board.close() == []


def parts(board: Board) -> tuple[Qemu, QemuDisk]:
    vm, storage = board.vm, board.storage
    assert isinstance(vm, Qemu) and isinstance(storage, QemuDisk)
    return vm, storage


def test_the_board_reads_the_image_flashed_to_its_disk(board: Board, tmp_path: Path) -> None:
    vm, storage = parts(board)
    with pytest.raises(DriverError, match=r"disk: .*disk.img does not exist \(flash an image to it first\?\)"):
        vm.on()
    payload = os.urandom(MIB) + bytes(6 * MIB) + os.urandom(MIB)
    image = tmp_path / "rootfs.img.xz"
    image.write_bytes(lzma.compress(payload, preset=0))
    storage.write(image, verify=True)
    vm.on()
    shell = console_shell(board)
    shell.connect()
    result = shell.run_check("sha256sum /dev/vda")
    assert result.stdout.split()[0] == hashlib.sha256(payload).hexdigest()


def test_flashing_a_running_board_is_refused_and_keeps_the_disk(board: Board, tmp_path: Path) -> None:
    vm, storage = parts(board)
    first = tmp_path / "first.img"
    first.write_bytes(b"\x01" * MIB)
    storage.write(first)
    vm.on()
    second = tmp_path / "second.img"
    second.write_bytes(b"\x02" * MIB)
    with pytest.raises(DriverError, match=r"disk.img is in use by a running QEMU: power the board off before"):
        storage.write(second)
    assert (tmp_path / "a,b,disk.img").read_bytes() == first.read_bytes()
    vm.off()
    storage.write(second)
    assert (tmp_path / "a,b,disk.img").read_bytes() == second.read_bytes()


def test_hil_flash_in_another_process_is_refused_while_qemu_runs(board: Board, tmp_path: Path) -> None:
    """The lock is QEMU's own, so `hil flash` in a second process sees the board running."""
    vm, storage = parts(board)
    first = tmp_path / "first.img"
    first.write_bytes(b"\x01" * MIB)
    storage.write(first)
    vm.on()
    second = tmp_path / "second.img"
    second.write_bytes(b"\x02" * MIB)
    command = [sys.executable, "-m", "pytest_hil.cli.main", "--lab", str(tmp_path / "lab.yaml")]
    result = subprocess.run([*command, "flash", "qemu-01", str(second)], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == (
        f"hil: board qemu-01, resource storage: {tmp_path}/a,b,disk.img is in use by a running QEMU: "
        "power the board off before flashing\n"
    )
    vm.off()
    result = subprocess.run([*command, "flash", "qemu-01", str(second)], capture_output=True, text=True)
    assert result.returncode == 0 and (tmp_path / "a,b,disk.img").read_bytes() == second.read_bytes()
