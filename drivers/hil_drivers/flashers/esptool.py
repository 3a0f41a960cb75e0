"""`esptool`: Espressif chips through their serial ROM bootloader, with esptool's Python API: the chip
is reset into the bootloader on the port (`--before default-reset`), written, verified by esptool's
hash check, and reset into the new firmware (`--after hard-reset`).

esptool prints its progress: each line goes into the board's console logs as it comes. Its output is
caught by redirecting this process's stdout for the call, so two esptool resources flash one after
the other, not at once.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pytest_hil.errors import DriverError, DriverUnavailable
from pytest_hil.interfaces import DriverContext, Flasher
from pytest_hil.secrets import mask

Chip = Literal[
    "auto", "esp8266", "esp32", "esp32s2", "esp32s3", "esp32c2", "esp32c3", "esp32c5", "esp32c6", "esp32h2", "esp32p4"
]
#: esptool's output is this process's stdout for the length of a call: one call at a time.
_ONE_AT_A_TIME = threading.Lock()


@dataclass(frozen=True)
class EsptoolOptions:
    port: str = field(metadata={"help": "the chip's serial port (a path, or rfc2217://host:port)"})
    chip: Chip = field(default="auto", metadata={"help": "the chip (auto: as it says)"})
    baud: int = field(default=460800, metadata={"help": "baud rate while flashing", "min": 9600})
    address: int = field(default=0x10000, metadata={"help": "where flash(path) writes (the app's offset)", "min": 0})
    module: str = field(default="esptool", metadata={"help": "the esptool module (a replacement for tests)"})


class _Lines(io.TextIOBase):
    """A text stream that notes each complete line in the board's logs and keeps them all."""

    def __init__(self, context: DriverContext) -> None:
        self.context = context
        self.lines: list[str] = []
        self.partial = ""

    def write(self, text: str) -> int:
        self.partial += text.replace("\r", "\n")
        *complete, self.partial = self.partial.split("\n")
        for line in complete:
            if line.strip():
                self.lines.append(line)
                self.context.logs.note(f"[esptool] {mask(line.rstrip())}")
        return len(text)

    def flush(self) -> None:
        if self.partial:
            self.write("\n")


class Esptool(Flasher[EsptoolOptions]):
    """An ESP chip on a serial port, through esptool."""

    kind = "esptool"
    Options = EsptoolOptions

    def __init__(self, options: EsptoolOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        try:
            self.esptool = importlib.import_module(options.module)
        except ImportError:
            raise DriverUnavailable(f"{context}: esptool is not installed (pip install 'pytest-hil[esp]')") from None

    @property
    def version(self) -> str:
        return str(getattr(self.esptool, "__version__", "unknown"))

    def _call(self, what: str, *command: str) -> list[str]:
        options = self.options
        argv = ["--chip", options.chip, "--port", options.port, "--baud", str(options.baud),
                "--before", "default-reset", "--after", "hard-reset", *command]  # fmt: skip
        self.context.logs.note(f"[hil] {what}: esptool {mask(' '.join(argv))}")
        lines = _Lines(self.context)
        with _ONE_AT_A_TIME, contextlib.redirect_stdout(lines), contextlib.redirect_stderr(lines):
            try:
                self.esptool.main(argv)
                failure = None
            except SystemExit as stop:  # its argument parser
                failure = None if stop.code in (0, None) else f"esptool refused the arguments (status {stop.code})"
            except Exception as error:  # esptool's FatalError, pyserial's errors, ...
                failure = _first_line(str(error)) or type(error).__name__
            lines.flush()
        if failure is not None:
            said = [line.strip(" │╭╮╰╯─") for line in lines.lines if line.strip(" │╭╮╰╯─")]
            detail = f" ({said[-1]})" if failure.startswith("esptool refused") and said else ""
            raise DriverError(f"{self.context}: {what}: {mask(failure)}{mask(detail)}")
        return lines.lines

    def flash(self, path: str | Path | Mapping[int, str | Path], **options: Any) -> None:
        """Write an image at `address=` (default: the lab file's `address`), or several at once:
        `flash({0x1000: "bootloader.bin", 0x8000: "partitions.bin", 0x10000: "app.bin"})`."""
        address = options.pop("address", self.options.address)
        if options:
            raise TypeError(f"esptool flash() takes address, not {', '.join(options)}")
        images = dict(path) if isinstance(path, Mapping) else {address: path}
        arguments: list[str] = []
        for offset, image in sorted(images.items()):
            if not Path(image).is_file():
                raise DriverError(f"{self.context}: flash: {image} does not exist")
            arguments += [hex(offset), str(image)]
        names = ", ".join(f"{Path(image).name} at {offset:#x}" for offset, image in sorted(images.items()))
        self._call(f"flash {names}", "write-flash", *arguments)

    def reset(self) -> None:
        self._call("reset", "run")

    def erase(self) -> None:
        self._call("erase", "erase-flash")


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
