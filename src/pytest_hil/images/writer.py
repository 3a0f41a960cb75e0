"""Write an image to a target (a file or a block device), streaming, with bmap or zero skipping."""

from __future__ import annotations

import hashlib
import lzma
import os
import stat
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pytest_hil.errors import ImageError
from pytest_hil.images.bmap import Bmap
from pytest_hil.images.formats import compression_of, open_image, open_image_counted

CHUNK = 4 * 1024 * 1024
#: Granularity of zero skipping: an all-zero block of this size is left unwritten.
ZERO_BLOCK = 64 * 1024
_ZEROS = bytes(CHUNK)
_ZERO_BLOCK = bytes(ZERO_BLOCK)

#: `progress(done, total, share)`: bytes written, of how many (0: unknown), and the share of the image
#: file read when that says more (a compressed image: its uncompressed size is unknown).
ProgressCallback = Callable[[int, int, "float | None"], None]


@dataclass(frozen=True)
class WriteReport:
    """What `write_image` did."""

    image: Path
    target: Path
    size: int
    written: int
    seconds: float
    sha256: str | None

    @property
    def skipped(self) -> int:
        return self.size - self.written


def target_size(target: Path) -> int | None:
    """A block device's size; None for a regular file (which grows)."""
    if target.exists() and stat.S_ISBLK(target.stat().st_mode):
        with open(target, "rb") as device:
            return device.seek(0, os.SEEK_END)
    return None


def write_image(
    image: Path,
    target: Path,
    *,
    bmap: Bmap | None = None,
    skip_zeros: bool = False,
    verify: bool = False,
    progress: ProgressCallback | None = None,
) -> WriteReport:
    """Write `image` (decompressed on the fly) to `target`, then fsync.

    With a bmap only its ranges are written, each checked against its checksum. With `skip_zeros`
    all-zero blocks are skipped: only safe where unwritten blocks read back as zeros (a fresh file).
    `verify` reads the target back and compares. A failure never reports success: it raises `ImageError`.
    """
    started = time.monotonic()
    capacity = target_size(target)
    block_device = capacity is not None
    flags = os.O_WRONLY | (0 if block_device else os.O_CREAT | os.O_TRUNC)
    source, compressed_read = open_image_counted(image)
    with source:
        fd = os.open(target, flags, 0o644)
        try:
            if bmap is not None:
                if capacity is not None and bmap.image_size > capacity:
                    raise ImageError(
                        f"image {image} ({bmap.image_size} bytes) does not fit {target} ({capacity} bytes)"
                    )
                size, written = _write_bmap(source, fd, image, bmap, progress)
            else:
                size, written = _write_all(source, fd, image, target, capacity, skip_zeros, progress, compressed_read)
            if not block_device:
                os.ftruncate(fd, size)  # the length of the image, also when its tail was skipped zeros
            os.fsync(fd)
        finally:
            os.close(fd)
    digest = _verify(image, target, bmap, size) if verify else None
    return WriteReport(image, target, size, written, time.monotonic() - started, digest)


def _write_all(
    source: IO[bytes],
    fd: int,
    image: Path,
    target: Path,
    capacity: int | None,
    skip_zeros: bool,
    progress: ProgressCallback | None,
    compressed_read: Callable[[], int],
) -> tuple[int, int]:
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    offset = written = 0
    total = _size_hint(image)
    file_size = image.stat().st_size
    while True:
        count = _read_full(source, view, image)
        if not count:
            return offset, written
        if capacity is not None and offset + count > capacity:
            raise ImageError(f"image {image} does not fit {target} ({capacity} bytes): it is larger")
        if skip_zeros:
            written += _write_skipping_zeros(fd, buffer, count, offset)
        else:
            _pwrite_all(fd, view[:count], offset)
            written += count
        offset += count
        if progress is not None:
            progress(offset, total, None if total else compressed_read() / max(file_size, 1))


def _write_skipping_zeros(fd: int, buffer: bytearray, count: int, offset: int) -> int:
    """Write the blocks of `buffer[:count]` that hold data; compares run at memcmp speed, no copies
    of whole chunks."""
    if count == CHUNK and buffer == _ZEROS:
        return 0
    view = memoryview(buffer)
    written = 0
    for start in range(0, count, ZERO_BLOCK):
        end = min(start + ZERO_BLOCK, count)
        full = end - start == ZERO_BLOCK
        if (full and buffer.startswith(_ZERO_BLOCK, start)) or (
            not full and buffer.count(0, start, end) == end - start
        ):
            continue
        _pwrite_all(fd, view[start:end], offset + start)
        written += end - start
    return written


def _write_bmap(
    source: IO[bytes], fd: int, image: Path, bmap: Bmap, progress: ProgressCallback | None
) -> tuple[int, int]:
    """Write the bmap's ranges. Each chunk is hashed on a second thread while it is written (both
    release the GIL), so checking the checksums costs next to nothing."""
    position = written = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hil-bmap-hash") as hasher:
        for mapped in bmap.ranges:
            start = mapped.first * bmap.block_size
            end = min((mapped.last + 1) * bmap.block_size, bmap.image_size)
            _skip(source, start - position, image)
            digest = hashlib.new(bmap.checksum_type)
            hashing: Future[None] | None = None
            offset = start
            while offset < end:
                chunk = source.read(min(CHUNK, end - offset))
                if not chunk:
                    raise ImageError(f"image {image} is smaller than its bmap says: it ends at byte {offset}, "
                                     f"the bmap maps up to byte {end}")  # fmt: skip
                if hashing is not None:
                    hashing.result()  # the digest takes chunks in order
                hashing = hasher.submit(digest.update, chunk)
                _pwrite_all(fd, memoryview(chunk), offset)
                offset += len(chunk)
            if hashing is not None:
                hashing.result()
            if mapped.checksum and digest.hexdigest() != mapped.checksum.lower():
                raise ImageError(
                    f"image {image}: blocks {mapped.first}-{mapped.last} do not match the bmap's "
                    f"{bmap.checksum_type} checksum"
                )
            written += end - start
            position = end
            if progress is not None:
                progress(written, bmap.mapped_bytes, None)
    return bmap.image_size, written


def _read_full(source: IO[bytes], view: memoryview, image: Path) -> int:
    count = 0
    try:
        while count < len(view):
            got = source.readinto(view[count:])  # type: ignore[attr-defined]
            if not got:
                break
            count += got
    except (OSError, EOFError, ValueError, lzma.LZMAError) as error:  # how decompressors report bad data
        raise ImageError(f"image {image} is corrupt or truncated: {error}") from None
    return count


def _skip(source: IO[bytes], count: int, image: Path) -> None:
    """Move `count` bytes on: a seek in a raw image, reading through in a compressed one."""
    if count > 0 and source.seekable() and compression_of(image) is None:
        if source.seek(count, os.SEEK_CUR) > image.stat().st_size:
            raise ImageError(f"image {image} is smaller than its bmap says")
        return
    buffer = bytearray(min(CHUNK, max(count, 1)))
    view = memoryview(buffer)
    while count > 0:
        got = _read_full(source, view[: min(len(view), count)], image)
        if not got:
            raise ImageError(f"image {image} is smaller than its bmap says")
        count -= got


def _pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    while data:
        done = os.pwrite(fd, data, offset)
        data, offset = data[done:], offset + done


def _size_hint(image: Path) -> int:
    """The image's size for progress, or 0 when compression hides it."""
    return 0 if compression_of(image) else image.stat().st_size


def _verify(image: Path, target: Path, bmap: Bmap | None, size: int) -> str:
    """Read the target back and compare with the image: all of it, or the bmap's ranges."""
    with open_image(image) as source, open(target, "rb") as written:
        expected, actual = hashlib.sha256(), hashlib.sha256()
        if bmap is None:
            while chunk := source.read(CHUNK):
                expected.update(chunk)
            remaining = size
            while remaining > 0 and (chunk := written.read(min(CHUNK, remaining))):
                actual.update(chunk)
                remaining -= len(chunk)
        else:
            position = 0
            for mapped in bmap.ranges:
                start = mapped.first * bmap.block_size
                end = min((mapped.last + 1) * bmap.block_size, bmap.image_size)
                _skip(source, start - position, image)
                expected.update(source.read(end - start))
                written.seek(start)
                actual.update(written.read(end - start))
                position = end
    if expected.hexdigest() != actual.hexdigest():
        raise ImageError(f"verify: {target} does not read back as {image} (sha256 {actual.hexdigest()[:16]} "
                         f"instead of {expected.hexdigest()[:16]})")  # fmt: skip
    return actual.hexdigest()
