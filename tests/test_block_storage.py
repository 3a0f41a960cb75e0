"""block-storage on file targets: bmap beside the image, zero skipping, verify, waiting, failures."""

from __future__ import annotations

import hashlib
import lzma
import os
from pathlib import Path

import pytest

from pytest_hil.board import Board
from pytest_hil.console.log import BoardLogs
from pytest_hil.errors import DriverError
from pytest_hil.images.bmap import write_bmap
from pytest_hil.interfaces import Storage
from pytest_hil.lab import load_lab

MIB = 1024 * 1024


def storage(tmp_path: Path, options: str) -> tuple[Storage, Board]:
    (tmp_path / "lab.yaml").write_text(
        f"version: 1\nboards:\n  b:\n    resources:\n      storage: {{driver: block-storage, {options}}}\n"
    )
    board = Board(load_lab(tmp_path / "lab.yaml").boards["b"], tmp_path, BoardLogs("b"))
    driver = board.storage
    assert isinstance(driver, Storage)
    return driver, board


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "rootfs.img"
    path.write_bytes(os.urandom(MIB) + bytes(6 * MIB) + os.urandom(MIB))
    return path


def test_writes_and_reads_back_a_file_target(tmp_path: Path, image: Path) -> None:
    driver, board = storage(tmp_path, "path: sdcard.img")
    board.logs.console("console")
    driver.write(image, verify=True)
    assert (tmp_path / "sdcard.img").read_bytes() == image.read_bytes()
    driver.read(tmp_path / "back.img", 2 * MIB)
    assert (tmp_path / "back.img").read_bytes() == image.read_bytes()[: 2 * MIB]
    lines = board.logs.logs["console"].recent_lines()
    assert (
        f"[hil] flash rootfs.img -> {tmp_path}/sdcard.img" in lines
        and "verified: sha256 " in lines
        and "of the whole image" in lines
    )


def test_uses_a_bmap_lying_beside_a_compressed_image(tmp_path: Path, image: Path) -> None:
    write_bmap(image, tmp_path / "rootfs.img.bmap")
    packed = tmp_path / "rootfs.img.xz"
    packed.write_bytes(lzma.compress(image.read_bytes()))
    driver, board = storage(tmp_path, "path: sdcard.img")
    board.logs.console("console")
    driver.write(packed)
    assert (
        hashlib.sha256((tmp_path / "sdcard.img").read_bytes()).digest() == hashlib.sha256(image.read_bytes()).digest()
    )
    assert "(bmap rootfs.img.bmap)" in board.logs.logs["console"].recent_lines()
    assert "(2097152 written)" in board.logs.logs["console"].recent_lines()


def test_a_device_that_never_appears(tmp_path: Path, image: Path) -> None:
    driver, _ = storage(tmp_path, "path: /dev/disk/by-id/usb-no-such-reader, wait: 0.3")
    with pytest.raises(
        DriverError, match=r"board b, resource storage: /dev/disk/by-id/usb-no-such-reader did not appear within 0.3 s"
    ):
        driver.write(image)


def test_a_missing_image_fails_naming_board_and_resource(tmp_path: Path) -> None:
    driver, _ = storage(tmp_path, "path: sdcard.img")
    with pytest.raises(DriverError, match=rf"board b, resource storage: image {tmp_path}/none.img does not exist"):
        driver.write(tmp_path / "none.img")
