"""Open an image for streaming: raw, .gz, .xz, .bz2 and, with the zstandard package, .zst."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast

from pytest_hil.errors import ImageError

#: Suffix -> how the image is compressed.
COMPRESSIONS = {".gz": "gzip", ".xz": "xz", ".bz2": "bzip2", ".zst": "zstd"}


def compression_of(path: Path) -> str | None:
    return COMPRESSIONS.get(path.suffix)


class _Counted(io.RawIOBase):
    """A file read through a decompressor, counting the compressed bytes it gave."""

    def __init__(self, path: Path) -> None:
        self.file = open(path, "rb")  # noqa: SIM115 - closed with the stream
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        done = self.file.readinto(buffer)
        self.count += done or 0
        return done or 0

    def close(self) -> None:
        self.file.close()
        super().close()


class _ClosingBoth(io.RawIOBase):
    """A decompressing stream that also closes the file under it."""

    def __init__(self, stream: IO[bytes], under: IO[bytes]) -> None:
        self.stream = stream
        self.under = under

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return int(self.stream.readinto(buffer) or 0)  # type: ignore[attr-defined]

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size)

    def close(self) -> None:
        try:
            self.stream.close()
        finally:
            self.under.close()
            super().close()


def open_image(path: Path) -> IO[bytes]:
    """The image's uncompressed bytes as a stream (memory stays bounded whatever the size)."""
    return open_image_counted(path)[0]


def open_image_counted(path: Path) -> tuple[IO[bytes], Callable[[], int]]:
    """`open_image`, and a function telling how many bytes of the file (compressed) were read so far."""
    if not path.is_file():
        raise ImageError(f"image {path} does not exist")
    kind = compression_of(path)
    if kind is None:
        plain = open(path, "rb")  # noqa: SIM115 - the caller closes it
        return plain, plain.tell
    raw = _Counted(path)
    buffered = io.BufferedReader(raw, 1 << 20)
    stream: IO[bytes]
    if kind == "gzip":
        stream = gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[assignment]
    elif kind == "xz":
        stream = lzma.LZMAFile(buffered, "rb")  # noqa: SIM115 - closed by _ClosingBoth
    elif kind == "bzip2":
        stream = bz2.BZ2File(buffered, "rb")
    else:
        try:
            import zstandard
        except ImportError:
            buffered.close()
            raise ImageError(f"image {path}: .zst needs the zstandard package (pip install zstandard)") from None
        stream = cast(IO[bytes], zstandard.ZstdDecompressor().stream_reader(buffered, closefd=True))
    return cast(IO[bytes], _ClosingBoth(stream, cast(IO[bytes], buffered))), lambda: raw.count


def uncompressed_name(path: Path) -> str:
    """`disk.img.xz` -> `disk.img`: the image's name as a board would know it."""
    return path.stem if compression_of(path) else path.name
