"""Open an image for streaming: raw, .gz, .xz, .bz2 and, with the zstandard package, .zst."""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path
from typing import IO, cast

from pytest_hil.errors import HilError


class ImageError(HilError):
    """An image that does not exist, is corrupt or truncated, or does not fit its target or bmap."""


#: Suffix -> how the image is compressed.
COMPRESSIONS = {".gz": "gzip", ".xz": "xz", ".bz2": "bzip2", ".zst": "zstd"}


def compression_of(path: Path) -> str | None:
    return COMPRESSIONS.get(path.suffix)


def open_image(path: Path) -> IO[bytes]:
    """The image's uncompressed bytes as a stream (memory stays bounded whatever the size)."""
    if not path.is_file():
        raise ImageError(f"image {path} does not exist")
    kind = compression_of(path)
    if kind == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]  # a GzipFile is a binary stream
    if kind == "xz":
        return lzma.open(path, "rb")
    if kind == "bzip2":
        return bz2.open(path, "rb")
    if kind == "zstd":
        try:
            import zstandard
        except ImportError:
            raise ImageError(f"image {path}: .zst needs the zstandard package (pip install zstandard)") from None
        return cast(IO[bytes], zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True))
    return open(path, "rb")


def uncompressed_name(path: Path) -> str:
    """`disk.img.xz` -> `disk.img`: the image's name as a board would know it."""
    return path.stem if compression_of(path) else path.name
