"""`block-storage`: a block device or file the host writes (USB card readers, mass-storage gadgets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pytest_hil.errors import DriverError
from pytest_hil.interfaces import Storage
from pytest_hil.storage.flash import flash, read_back, wait_for
from pytest_hil.storage.writer import target_size


@dataclass(frozen=True)
class BlockStorageOptions:
    path: Path = field(metadata={"help": "the device (/dev/disk/by-id/...) or a file"})
    wait: float = field(default=10.0, metadata={"help": "seconds for the device to appear (it may enumerate late)"})
    min_size: int = field(default=0, metadata={"help": "refuse a device smaller than this many bytes"})
    skip_zeros: Literal["auto", "yes", "no"] = field(
        default="auto", metadata={"help": "skip all-zero blocks: auto = on files, never on devices"}
    )


class BlockStorage(Storage):
    """Writes images with bmap files when they lie beside the image, zero skipping on files."""

    kind = "block-storage"
    Options = BlockStorageOptions

    def _target(self) -> Path:
        """The device once it is there (it may enumerate seconds after a mux switch); a file as is."""
        path: Path = self.options.path
        if not path.exists() and not str(path).startswith("/dev/"):
            return path  # a file target: written fresh
        wait_for(self.context, path, self.options.wait)
        size = target_size(path)
        if size is not None and size < self.options.min_size:
            raise DriverError(f"{self.context}: {path} holds {size} bytes, less than min_size {self.options.min_size}")
        return path

    def write(self, image: str | Path, verify: bool = False) -> None:
        target = self._target()
        is_file = target_size(target) is None
        skip = self.options.skip_zeros == "yes" or (self.options.skip_zeros == "auto" and is_file)
        flash(self.context, Path(image), target, verify=verify, skip_zeros=skip)

    def read(self, dest: str | Path, size: int) -> None:
        read_back(self.context, self._target(), Path(dest), size)
