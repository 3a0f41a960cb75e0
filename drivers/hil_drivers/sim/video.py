"""`sim-video`: the simulated board's HDMI output, drawn with Pillow from what the board is doing:
black while off, a boot splash while booting, a login screen at the prompt, and whatever its shell
wrote to `$HIL_SCREEN`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hil_drivers.sim.hardware import SimBoardHardware, attach, detach
from hil_drivers.video.snapshots import SnapshotVideo
from pytest_hil import hookimpl
from pytest_hil.interfaces import Driver, DriverContext

if TYPE_CHECKING:
    from PIL import Image

BACKGROUNDS = {"booting": (16, 64, 160), "ready": (0, 0, 0), "text": (24, 24, 24)}


@dataclass(frozen=True)
class SimVideoOptions:
    board: str | None = field(default=None, metadata={"help": "simulated board to watch (default: this board)"})
    width: int = field(default=640, metadata={"help": "frame width in pixels", "min": 16, "max": 8192})
    height: int = field(default=480, metadata={"help": "frame height in pixels", "min": 16, "max": 8192})


def render(hardware: SimBoardHardware, width: int, height: int) -> Image.Image:
    """The frame the board shows now."""
    from PIL import Image, ImageDraw

    state = hardware.state if hardware.powered else "off"
    text = hardware.screen.read_text(errors="replace") if state == "ready" and hardware.screen.exists() else None
    if state == "off":
        return Image.new("RGB", (width, height), (0, 0, 0))
    frame = Image.new("RGB", (width, height), BACKGROUNDS["text" if text is not None else state])
    draw = ImageDraw.Draw(frame)
    if state == "booting":  # a logo block and a progress bar
        draw.rectangle((width // 4, height // 4, width * 3 // 4, height // 2), fill=(240, 240, 240))
        draw.text((width // 4 + 8, height // 4 + 8), f"pytest-hil sim board {hardware.ident}", fill=(16, 64, 160))
        draw.rectangle((width // 4, height * 2 // 3, width * 3 // 4, height * 2 // 3 + 12), outline=(240, 240, 240))
    elif text is not None:  # the shell's text, large enough to tell screens apart
        for row, line in enumerate(text.splitlines()[: height // 24]):
            draw.text((16, 16 + row * 24), line, fill=(255, 255, 255), font_size=20)
    else:  # the login screen
        draw.rectangle((0, 0, width, 28), fill=(0, 120, 0))
        draw.text((12, 6), f"{hardware.ident} login:", fill=(255, 255, 255), font_size=16)
    return frame


class SimVideo(SnapshotVideo[SimVideoOptions]):
    """Frames of a simulated board's display."""

    kind = "sim-video"
    Options = SimVideoOptions

    def __init__(self, options: SimVideoOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.hardware = attach(options.board or context.board)

    def snapshot(self) -> Image.Image:
        return render(self.hardware, self.options.width, self.options.height)

    def close(self) -> None:
        detach(self.hardware)


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    """`SimVideo` alone: the entry point of its kind names this module."""
    return [SimVideo]
