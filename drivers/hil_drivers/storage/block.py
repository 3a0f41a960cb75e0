"""`block-storage`: a block device or file the host writes (USB card readers, mass-storage gadgets)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext, Storage
from pytest_hil.storage import ImageError, read_bmap, write_image
from pytest_hil.storage.images import uncompressed_name
from pytest_hil.storage.writer import target_size


@dataclass(frozen=True)
class BlockStorageOptions:
    path: Path = field(metadata={"help": "the device (/dev/disk/by-id/...) or a file"})
    wait: float = field(default=10.0, metadata={"help": "seconds for the device to appear (it may enumerate late)"})
    min_size: int = field(default=0, metadata={"help": "refuse a device smaller than this many bytes"})
    skip_zeros: Literal["auto", "yes", "no"] = field(
        default="auto", metadata={"help": "skip all-zero blocks: auto = on files, never on devices"}
    )


def find_bmap(image: Path) -> Path | None:
    """`disk.img.bmap` beside `disk.img` or `disk.img.xz`."""
    for candidate in (image.with_name(image.name + ".bmap"), image.with_name(uncompressed_name(image) + ".bmap")):
        if candidate.is_file():
            return candidate
    return None


class BlockStorage(Storage):
    """Writes images with bmap files when they lie beside the image, zero skipping on files."""

    kind = "block-storage"
    Options = BlockStorageOptions

    def __init__(self, options: BlockStorageOptions, context: DriverContext) -> None:
        super().__init__(options, context)

    def _target(self) -> Path:
        """The device once it is there (it may enumerate seconds after a mux switch); a file as is."""
        path: Path = self.options.path
        if not path.exists() and not str(path).startswith("/dev/"):
            return path  # a file target: written fresh
        deadline = time.monotonic() + self.options.wait
        while not path.exists():
            if time.monotonic() > deadline:
                raise DriverError(f"{self.context}: {path} did not appear within {self.options.wait:g} s")
            time.sleep(0.1)
        size = target_size(path)
        if size is not None and size < self.options.min_size:
            raise DriverError(f"{self.context}: {path} holds {size} bytes, less than min_size {self.options.min_size}")
        return path

    def write(self, image: str | Path, verify: bool = False) -> None:
        image = Path(image)
        target = self._target()
        bmap_path = find_bmap(image)
        is_file = target_size(target) is None
        skip = self.options.skip_zeros == "yes" or (self.options.skip_zeros == "auto" and is_file)
        self.context.logs.note(
            f"[hil] flash {image.name} -> {target}" + (f" (bmap {bmap_path.name})" if bmap_path else "")
        )
        try:
            bmap = read_bmap(bmap_path) if bmap_path else None
            report = write_image(image, target, bmap=bmap, skip_zeros=skip and bmap is None, verify=verify)
        except ImageError as error:
            raise DriverError(f"{self.context}: {error}") from None
        except OSError as error:
            raise DriverError(f"{self.context}: writing {target}: {error.strerror or error}") from None
        self.context.logs.note(
            f"[hil] flashed {report.size} bytes ({report.written} written) in {report.seconds:.1f} s"
            + (f", verified sha256 {report.sha256[:16]}" if report.sha256 else "")
        )

    def read(self, dest: str | Path, size: int) -> None:
        source = self._target()
        with open(source, "rb") as device, open(dest, "wb") as out:
            remaining = size
            while remaining > 0 and (chunk := device.read(min(remaining, 4 * 1024 * 1024))):
                out.write(chunk)
                remaining -= len(chunk)
        if remaining:
            raise DriverError(f"{self.context}: {source} holds fewer than {size} bytes")
