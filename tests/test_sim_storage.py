"""sim-storage: the simulated board boots what was flashed to its card, and says so."""

from __future__ import annotations

import hashlib
import lzma
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_hil.board import Board
from pytest_hil.console import StreamConsole
from pytest_hil.console.shell import console_shell
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import Power, Storage
from pytest_hil.lab import load_lab

LAB = """
version: 1
boards:
  sim-s:
    resources:
      power: {driver: sim-power, boot_time: 0.2}
      console: {driver: sim-console, timeout: 5}
      storage: {driver: sim-storage}
    shell: {username: root, prompt: 'root@sim-s:\\S*# '}
"""


@pytest.fixture
def board(write_lab: Callable[..., Path]) -> Iterator[Board]:
    lab = load_lab(write_lab(LAB))
    board = Board(lab.boards["sim-s"], lab.path.parent)
    board.logs.console("console")
    yield board
    assert board.close() == []


def parts(board: Board) -> tuple[Power, StreamConsole, Storage]:
    power, console, storage = board.power, board.console, board.storage
    assert isinstance(power, Power) and isinstance(console, StreamConsole) and isinstance(storage, Storage)
    return power, console, storage


def test_the_board_boots_the_flashed_image_and_shows_its_checksum(board: Board, tmp_path: Path) -> None:
    power, console, storage = parts(board)
    payload = os.urandom(512 * 1024) + bytes(3 * 1024 * 1024)
    image = tmp_path / "rootfs-1.2.img.xz"
    image.write_bytes(lzma.compress(payload))
    storage.write(image, verify=True)
    power.on()
    digest = hashlib.sha256(payload).hexdigest()
    console.expect(f"MMC: booting rootfs-1.2.img \\({len(payload)} bytes, sha256 {digest}\\)")
    shell = console_shell(board)
    shell.connect()
    assert shell.run_check("echo $HIL_BOOT_IMAGE $HIL_BOOT_SHA256").stdout.strip() == f"rootfs-1.2.img {digest}"
    back = tmp_path / "back.img"
    storage.read(back, len(payload))
    assert back.read_bytes() == payload


def test_a_new_image_boots_at_the_next_power_on(board: Board, tmp_path: Path) -> None:
    power, console, storage = parts(board)
    for version in (b"one", b"two"):
        image = tmp_path / f"fw-{version.decode()}.img"
        image.write_bytes(version * 1000)
        power.off()
        storage.write(image)
        power.on()
        console.expect(f"MMC: booting fw-{version.decode()}.img .*sha256 {hashlib.sha256(version * 1000).hexdigest()}")


def test_writing_the_card_of_a_running_board_is_refused(board: Board, tmp_path: Path) -> None:
    power, _, storage = parts(board)
    image = tmp_path / "fw.img"
    image.write_bytes(b"x" * 4096)
    power.on()
    with pytest.raises(DriverError, match="board sim-s is running from this card: power it off first"):
        storage.write(image)


def test_an_empty_card_does_not_boot(board: Board, tmp_path: Path) -> None:
    power, console, storage = parts(board)
    empty = tmp_path / "empty.img"
    empty.write_bytes(b"")
    storage.write(empty)
    power.on()
    console.expect("MMC: no bootable image on SD card")
    assert "login:" not in console.read_until_quiet(0.5, timeout=1.5)


def test_a_board_without_a_card_boots_its_internal_firmware(write_lab: Callable[..., Path]) -> None:
    lab = load_lab(write_lab(LAB.replace("      storage: {driver: sim-storage}\n", "")))
    board = Board(lab.boards["sim-s"], lab.path.parent)
    try:
        power, console = board.power, board.console
        assert isinstance(power, Power) and isinstance(console, StreamConsole)
        power.on()
        console.expect("login: ")
        assert "Starting kernel" in console.before and "MMC" not in console.before
    finally:
        board.close()
