"""`sim-console`: a serial adapter on one of a simulated board's UARTs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from hil_drivers.sim.hardware import attach, detach
from pytest_hil import hookimpl
from pytest_hil.console import StreamConsole
from pytest_hil.console.byte_streams import FdStream
from pytest_hil.interfaces import Driver, DriverContext


@dataclass(frozen=True)
class SimConsoleOptions:
    board: str | None = field(default=None, metadata={"help": "simulated board to connect to (default: this board)"})
    uart: Literal[0, 1] = field(default=0, metadata={"help": "0: the firmware's console; 1: the power-management log"})
    timeout: float = field(default=30.0, metadata={"help": "default expect timeout in seconds", "above": 0})
    baud: int | None = field(
        default=None, metadata={"help": "carry bytes as a UART at this rate would (8N1), e.g. 115200", "min": 50}
    )


class SimConsole(StreamConsole[SimConsoleOptions]):
    """Reads and writes the master end of a simulated board's UART pseudo-terminal."""

    kind = "sim-console"
    Options = SimConsoleOptions

    def __init__(self, options: SimConsoleOptions, context: DriverContext) -> None:
        super().__init__(options, context, timeout=options.timeout, baud=options.baud)
        self.hardware = attach(options.board or context.board)
        self.attach(FdStream(os.dup(self.hardware.uarts[options.uart].master)))

    def close(self) -> None:
        try:
            super().close()
        finally:
            detach(self.hardware)


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    """`SimConsole` alone: the entry point of its kind names this module."""
    return [SimConsole]
