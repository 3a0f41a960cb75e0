"""`qemu-disk`: a QEMU board's disk image as its storage, written while the board is off.

"Off" is what QEMU itself says: a running QEMU holds a lock on each image it has open, so a write
is refused while any QEMU (in this process or another, say a test session while `hil flash` runs)
uses the image, and a QEMU started during a write fails to take its lock instead of booting half an
image. The writer holds a POSIX record lock, which conflicts with QEMU's open-file-description locks.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field
from pathlib import Path

from pytest_hil.errors import DriverError
from pytest_hil.images.flash import flash, read_back
from pytest_hil.interfaces import Storage


@dataclass(frozen=True)
class QemuDiskOptions:
    path: Path = field(metadata={"help": "the raw disk image, as listed in the qemu resource's `disk`"})


class QemuDisk(Storage[QemuDiskOptions]):
    """Flashes the image file a `qemu` resource boots from."""

    kind = "qemu-disk"
    Options = QemuDiskOptions

    def write(self, image: str | Path, verify: bool = False) -> None:
        target: Path = self.options.path
        fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise DriverError(
                    f"{self.context}: {target} is in use by a running QEMU: power the board off before flashing"
                ) from None
            flash(self.context, Path(image), target, verify=verify, skip_zeros=True)
        finally:
            os.close(fd)

    def read(self, dest: str | Path, size: int) -> None:
        if not self.options.path.exists():
            raise DriverError(f"{self.context}: {self.options.path} does not exist: nothing was flashed")
        read_back(self.context, self.options.path, Path(dest), size)
