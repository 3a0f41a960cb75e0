"""`probe-rs`: Arm and RISC-V microcontrollers through any probe probe-rs knows (ST-Link, J-Link,
CMSIS-DAP...), by its command line: `download` (with `--verify`), `reset`, `erase`, `info`, `read`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hil_drivers.flashers.tool import find_tool, run_tool
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext, Flasher

#: Image formats by file name; a raw .bin needs the address it goes to.
FORMATS = {".elf": "elf", ".hex": "hex", ".ihex": "hex", ".bin": "bin"}
PROBE = re.compile(r"[0-9a-fA-F]{4}:[0-9a-fA-F]{4}(:\S+)?")


@dataclass(frozen=True)
class ProbeRsOptions:
    chip: str = field(metadata={"help": "the target chip as probe-rs names it, e.g. STM32F401RETx"})
    probe: str | None = field(default=None, metadata={"help": "VID:PID[:SERIAL] of the probe, when several"})
    protocol: Literal["swd", "jtag"] = field(default="swd", metadata={"help": "debug protocol"})
    connect_under_reset: bool = field(default=False, metadata={"help": "hold reset while attaching"})
    speed: int | None = field(default=None, metadata={"help": "probe speed in kHz", "min": 1})
    binary: str = field(default="probe-rs", metadata={"help": "the probe-rs program"})
    timeout: float = field(default=300.0, metadata={"help": "seconds an operation may take", "above": 0})

    def __post_init__(self) -> None:
        if self.probe is not None and not PROBE.fullmatch(self.probe):
            raise ValueError(f"probe: {self.probe!r}: write VID:PID or VID:PID:SERIAL, e.g. 0483:374b:0668FF")


class ProbeRs(Flasher[ProbeRsOptions]):
    """A chip behind a debug probe, through probe-rs."""

    kind = "probe-rs"
    Options = ProbeRsOptions

    def __init__(self, options: ProbeRsOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.binary = find_tool(context, options.binary, "cargo install probe-rs-tools, or probe.rs's installer")

    def _target(self) -> list[str]:
        options = self.options
        args = ["--chip", options.chip, "--protocol", options.protocol]
        if options.probe:
            args += ["--probe", options.probe]
        if options.speed:
            args += ["--speed", str(options.speed)]
        if options.connect_under_reset:
            args.append("--connect-under-reset")
        return args

    def _run(self, what: str, *args: str) -> str:
        return run_tool(self.context, [self.binary, *args], self.options.timeout, what)

    def flash(self, path: str | Path, **options: Any) -> None:
        """Download `path` (.elf, .hex, or .bin with `base_address=`) and verify it; `verify=False` skips
        the check."""
        image = Path(path)
        if not image.is_file():
            raise DriverError(f"{self.context}: flash: {image} does not exist")
        kind = FORMATS.get(image.suffix.lower(), "elf")
        args = ["download", *self._target(), "--binary-format", kind, "--disable-progressbars"]
        if kind == "bin":
            address = options.pop("base_address", None)
            if address is None:
                raise DriverError(f"{self.context}: flash: {image.name} is a raw image: give base_address=0x...")
            args += ["--base-address", hex(address)]
        if options.pop("verify", True):
            args.append("--verify")
        if options:
            raise TypeError(f"probe-rs flash() takes base_address and verify, not {', '.join(options)}")
        self._run(f"flash {image.name}", *args, str(image))

    def reset(self) -> None:
        self._run("reset", "reset", *self._target())

    def erase(self) -> None:
        self._run("erase", "erase", *self._target())

    def info(self) -> str:
        """What probe-rs learns about the probe and the chip behind it."""
        args = ["info", "--protocol", self.options.protocol]
        if self.options.probe:
            args += ["--probe", self.options.probe]
        return self._run("info", *args)

    def read(self, address: int, words: int, width: Literal[8, 16, 32, 64] = 32) -> list[int]:
        """`words` values of `width` bits from `address`."""
        text = self._run(f"read {words} x {width} bits at {address:#x}", "read", *self._target(), f"b{width}",
                         hex(address), str(words))  # fmt: skip
        try:  # hex words padded to the width, separated by spaces: "20000000 0800015d"
            values = [int(token, 16) for token in text.split()]
        except ValueError:
            values = []
        if len(values) != words:
            raise DriverError(f"{self.context}: read: probe-rs answered {text[:200]!r}, not {words} values")
        return values
