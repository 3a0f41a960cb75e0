"""block-storage on a real block device (a loop device): device sizes, zeros written, bmap, too-big images."""

from __future__ import annotations

import hashlib
import lzma
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_hil.board import Board
from pytest_hil.errors import DriverError
from pytest_hil.images.bmap import write_bmap
from pytest_hil.interfaces import Storage
from pytest_hil.lab import load_lab

MIB = 2**20


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """Attach a loop device of the given size (filled with 0xAA, like a used card); skips where the
    machine does not allow loop devices (they need root)."""
    attached: list[str] = []

    def attach(size: int) -> Path:
        backing = tmp_path / f"backing-{len(attached)}.bin"
        with open(backing, "wb") as file:
            for _ in range(size // MIB):
                file.write(b"\xaa" * MIB)
        result = subprocess.run(["losetup", "-f", "--show", str(backing)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"no loop device here (losetup: {result.stderr.strip() or 'not found'})")
        attached.append(result.stdout.strip())
        return Path(attached[-1])

    try:
        yield attach
    finally:
        for device in attached:
            subprocess.run(["losetup", "-d", device], check=False)


def block_storage(tmp_path: Path, options: str) -> tuple[Storage, Board]:
    (tmp_path / "lab.yaml").write_text(
        f"version: 1\nboards:\n  b:\n    resources:\n      storage: {{driver: block-storage, {options}}}\n"
    )
    board = Board(load_lab(tmp_path / "lab.yaml").boards["b"], tmp_path)
    board.logs.console("console")
    storage = board.storage
    assert isinstance(storage, Storage)
    return storage, board


def image_of(tmp_path: Path, mib: int, data_at: tuple[int, ...]) -> tuple[Path, bytes]:
    payload = b"".join(os.urandom(MIB) if index in data_at else bytes(MIB) for index in range(mib))
    path = tmp_path / "disk.img"
    path.write_bytes(payload)
    return path, payload


def read_device(device: Path, size: int) -> bytes:
    with open(device, "rb") as file:
        return file.read(size)


def test_a_device_gets_every_byte_of_the_image_zeros_included(
    loop_device: Callable[[int], Path], tmp_path: Path
) -> None:
    device = loop_device(64 * MIB)
    image, payload = image_of(tmp_path, 48, (0, 47))
    storage, board = block_storage(tmp_path, f"path: {device}, min_size: {32 * MIB}")
    storage.write(image, verify=True)
    assert read_device(device, len(payload)) == payload  # the old card's 0xAA is gone under the zeros
    assert read_device(device, 64 * MIB)[len(payload) :] == b"\xaa" * (16 * MIB)
    assert "(50331648 written)" in board.logs.logs["console"].recent_lines()


def test_a_bmap_writes_only_its_ranges_on_a_device(loop_device: Callable[[int], Path], tmp_path: Path) -> None:
    device = loop_device(64 * MIB)
    image, payload = image_of(tmp_path, 48, (0, 47))
    write_bmap(image, tmp_path / "disk.img.bmap")
    packed = tmp_path / "disk.img.xz"
    packed.write_bytes(lzma.compress(payload, preset=0))
    storage, _ = block_storage(tmp_path, f"path: {device}")
    storage.write(packed, verify=True)
    written = read_device(device, len(payload))
    assert written[:MIB] == payload[:MIB] and written[47 * MIB :] == payload[47 * MIB :]
    assert written[MIB : 47 * MIB] == b"\xaa" * (46 * MIB)  # unmapped: left as it was
    assert hashlib.sha256(written[:MIB]).digest() == hashlib.sha256(payload[:MIB]).digest()


def test_an_image_larger_than_the_device_fails_naming_both(loop_device: Callable[[int], Path], tmp_path: Path) -> None:
    device = loop_device(16 * MIB)
    image, _ = image_of(tmp_path, 24, (0,))
    storage, board = block_storage(tmp_path, f"path: {device}")
    with pytest.raises(DriverError) as raised:
        storage.write(image)
    assert str(raised.value) == (
        f"board b, resource storage: image {image} does not fit {device} ({16 * MIB} bytes): it is larger"
    )
    assert "[hil] flash failed: image" in board.logs.logs["console"].recent_lines()
    write_bmap(image, tmp_path / "disk.img.bmap")
    with pytest.raises(DriverError, match=rf"image {image} \({24 * MIB} bytes\) does not fit {device} \("):
        storage.write(image)


def test_a_device_below_min_size_is_refused(loop_device: Callable[[int], Path], tmp_path: Path) -> None:
    device = loop_device(8 * MIB)
    image, _ = image_of(tmp_path, 1, (0,))
    storage, _ = block_storage(tmp_path, f"path: {device}, min_size: {16 * MIB}")
    with pytest.raises(DriverError, match=rf"{device} holds {8 * MIB} bytes, less than min_size {16 * MIB}"):
        storage.write(image)


def test_discard_lets_zero_blocks_be_skipped_on_a_device_that_then_reads_zeros(
    loop_device: Callable[[int], Path], tmp_path: Path
) -> None:
    device = loop_device(64 * MIB)  # a loop device discards by punching holes: it reads zeros after
    image, payload = image_of(tmp_path, 48, (0, 47))
    storage, board = block_storage(tmp_path, f"path: {device}, skip_zeros: discard")
    storage.write(image, verify=True)
    assert read_device(device, 64 * MIB) == payload + bytes(16 * MIB)  # all discarded, data written back
    lines = board.logs.logs["console"].recent_lines()
    assert "it reads zeros, zero blocks are skipped" in lines and f"({2 * MIB} written)" in lines


def test_discard_reports_false_where_it_cannot_promise_zeros(tmp_path: Path) -> None:
    from pytest_hil.images.discard import discard

    unsupported = tmp_path / "not-a-device.bin"
    unsupported.write_bytes(b"\xaa" * MIB)
    fd = os.open(unsupported, os.O_RDWR)
    try:
        assert discard(fd, MIB) is False  # BLKDISCARD on a regular file: refused
    finally:
        os.close(fd)
    assert unsupported.read_bytes() == b"\xaa" * MIB


@pytest.fixture
def mounted(loop_device: Callable[[int], Path], tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A loop device with an ext4 file system mounted on a folder, holding one file."""
    device = loop_device(32 * MIB)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(device)], check=True, capture_output=True)
    point = tmp_path / "mnt point"
    point.mkdir()
    result = subprocess.run(["mount", str(device), str(point)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here: {result.stderr.strip()}")
    (point / "precious.txt").write_text("keep me")
    yield device, point
    subprocess.run(["umount", str(point)], check=False)


def test_a_mounted_device_is_refused_naming_the_mount_point(mounted: tuple[Path, Path], tmp_path: Path) -> None:
    device, point = mounted
    image, _ = image_of(tmp_path, 4, (0, 1))
    storage, board = block_storage(tmp_path, f"path: '{device}'")
    try:
        with pytest.raises(DriverError) as raised:
            storage.write(image)
    finally:
        board.close()
    assert str(raised.value).startswith(
        f"board b, resource storage: refusing to flash disk.img: {device} (or its partition "
    )
    assert str(raised.value).endswith(f") is mounted on {point}: unmount it first")
    assert (point / "precious.txt").read_text() == "keep me"


def test_a_device_whose_partition_is_mounted_is_refused(loop_device: Callable[[int], Path], tmp_path: Path) -> None:
    backing = loop_device(32 * MIB)
    subprocess.run(["losetup", "-d", str(backing)], check=False)
    disk = tmp_path / "backing-0.bin"
    subprocess.run(["sfdisk", "-q", str(disk)], input=b"label: dos\n,16M,L\n", check=True, capture_output=True)
    result = subprocess.run(["losetup", "-f", "-P", "--show", str(disk)], capture_output=True, text=True)
    device = Path(result.stdout.strip())
    partition = Path(f"{device}p1")
    point = tmp_path / "part"
    point.mkdir()
    try:
        for _ in range(50):
            if partition.exists():
                break
            time.sleep(0.1)
        if not partition.exists():
            pytest.skip("no partition devices for loop devices here")
        subprocess.run(["mkfs.ext4", "-q", "-F", str(partition)], check=True, capture_output=True)
        subprocess.run(["mount", str(partition), str(point)], check=True, capture_output=True)
        image, _ = image_of(tmp_path, 4, (0,))
        storage, board = block_storage(tmp_path, f"path: '{device}'")
        try:
            with pytest.raises(DriverError, match=rf"is mounted on {point}: unmount it first"):
                storage.write(image)
        finally:
            board.close()
    finally:
        subprocess.run(["umount", str(point)], check=False)
        subprocess.run(["losetup", "-d", str(device)], check=False)


def test_the_image_itself_is_refused_as_target(tmp_path: Path) -> None:
    image, payload = image_of(tmp_path, 4, (0, 2))
    (tmp_path / "lab.yaml").write_text(
        f"version: 1\nboards:\n  b1:\n    resources:\n      storage: {{driver: block-storage, path: '{image}'}}\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_hil.cli.main",
            "--lab",
            str(tmp_path / "lab.yaml"),
            "flash",
            "b1",
            str(image),
            "--verify",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert (
        result.stderr
        == f"hil: board b1, resource storage: refusing to flash disk.img: the target {image} is the image itself\n"
    )
    assert image.read_bytes() == payload


def test_a_mounted_partition_is_found_through_sysfs(loop_device: Callable[[int], Path], tmp_path: Path) -> None:
    """Where loop devices get no partitions (this kernel), the lookup is checked on a sysfs tree laid
    out as the kernel lays it out: /sys/dev/block/MAJ:MIN -> the disk, with one folder per partition."""
    from pytest_hil.images.safety import refusal

    device = loop_device(8 * MIB)
    number = device.stat().st_rdev
    disk = tmp_path / "sys" / "devices" / "virtual" / "block" / device.name
    (disk / f"{device.name}p1").mkdir(parents=True)
    (disk / f"{device.name}p1" / "partition").write_text("1\n")
    (disk / f"{device.name}p1" / "dev").write_text("259:7\n")
    (tmp_path / "sys" / "dev" / "block").mkdir(parents=True)
    (tmp_path / "sys" / "dev" / "block" / f"{os.major(number)}:{os.minor(number)}").symlink_to(disk)
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text("36 25 259:7 / /media/my\\040card rw,relatime shared:1 - ext4 /dev/loop0p1 rw\n")
    image, _ = image_of(tmp_path, 1, (0,))
    said = refusal(image, device, mountinfo, tmp_path / "sys")
    assert said == f"{device} (or its partition 259:7) is mounted on /media/my card: unmount it first"
    mountinfo.write_text("36 25 259:8 / /elsewhere rw - ext4 /dev/other rw\n")
    assert refusal(image, device, mountinfo, tmp_path / "sys") is None
