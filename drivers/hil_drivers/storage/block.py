"""`block-storage`: a block device or file the host writes (USB card readers, mass-storage gadgets)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pytest_hil.errors import DriverError
from pytest_hil.images.discard import discard
from pytest_hil.images.flash import flash, read_back, wait_for
from pytest_hil.images.writer import target_size
from pytest_hil.interfaces import Storage


@dataclass(frozen=True)
class BlockStorageOptions:
    path: Path = field(metadata={"help": "the device (/dev/disk/by-id/...) or a file"})
    wait: float = field(
        default=10.0, metadata={"help": "seconds for the device to appear (it may enumerate late)", "min": 0}
    )
    min_size: int = field(default=0, metadata={"help": "refuse a device smaller than this many bytes", "min": 0})
    skip_zeros: Literal["auto", "yes", "no", "discard"] = field(
        default="auto",
        metadata={
            "help": "skip all-zero blocks: auto = on files, never on devices; discard = discard the device "
            "first and skip if it then reads zeros"
        },
    )


class BlockStorage(Storage[BlockStorageOptions]):
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
        size = target_size(target)
        setting = self.options.skip_zeros
        skip = setting == "yes" or (setting in ("auto", "discard") and size is None)
        if setting == "discard" and size is not None:
            skip = self._discard(target, size)
        flash(self.context, Path(image), target, verify=verify, skip_zeros=skip)

    def _discard(self, target: Path, size: int) -> bool:
        fd = os.open(target, os.O_RDWR)
        try:
            zeroed = discard(fd, size)
        finally:
            os.close(fd)
        self.context.logs.note(
            f"[hil] discarded {target}: "
            + ("it reads zeros, zero blocks are skipped" if zeroed else "it keeps its data, every block is written")
        )
        return zeroed

    def read(self, dest: str | Path, size: int) -> None:
        read_back(self.context, self._target(), Path(dest), size)
