"""`sim-storage`: the simulated board's SD card. The board boots the image written to it, and its
boot log shows that image's name and sha256, so a test can prove the board runs what was flashed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hil_drivers.sim.hardware import attach, detach
from pytest_hil import hookimpl
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import Driver, DriverContext, Storage


@dataclass(frozen=True)
class SimStorageOptions:
    board: str | None = field(default=None, metadata={"help": "simulated board whose card this is (default: this)"})
    path: Path | None = field(
        default=None, metadata={"help": "file holding the card's contents (default: a temporary file per session)"}
    )


class SimStorage(Storage[SimStorageOptions]):
    """Puts a card (a file) into the simulated board; writing it while the board runs is refused."""

    kind = "sim-storage"
    Options = SimStorageOptions

    def __init__(self, options: SimStorageOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.hardware = attach(options.board or context.board)
        self.card: Path = options.path or Path(self.hardware.home) / "sdcard.img"
        self.hardware.medium = self.card

    def write(self, image: str | Path, verify: bool = False) -> None:
        from pytest_hil.images.flash import flash  # image writing loads when a card is written
        from pytest_hil.images.formats import uncompressed_name

        image = Path(image)
        if self.hardware.powered:
            raise DriverError(
                f"{self.context}: board {self.hardware.ident} is running from this card: power it off first"
            )
        flash(self.context, image, self.card, verify=verify, skip_zeros=True)
        self.card.with_name(self.card.name + ".label").write_text(uncompressed_name(image) + "\n")

    def read(self, dest: str | Path, size: int) -> None:
        from pytest_hil.images.flash import read_back

        if not self.card.exists():
            raise DriverError(f"{self.context}: the card is empty: nothing was written to it")
        read_back(self.context, self.card, Path(dest), size)

    def close(self) -> None:
        self.hardware.medium = None
        detach(self.hardware)


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    """`SimStorage` alone: the entry point of its kind names this module."""
    return [SimStorage]
