"""The simulated board itself: its serial lines (real pseudo-terminals) and its firmware process.

The sim drivers are the lab's view of this hardware, as a power switch and a serial adapter are of a
real board: `sim-power` switches it, `sim-console` opens one of its UARTs. Boards live per process and
are unplugged when the last driver using them closes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import threading
import tty
from dataclasses import asdict, dataclass
from pathlib import Path

from hil_drivers.sim import firmware


@dataclass(frozen=True)
class FirmwareSettings:
    """What the simulated firmware prints and accepts."""

    hostname: str
    username: str
    password: str | None
    prompt: str
    boot_time: float
    kernel_messages: float = 0.0


class Uart:
    """A serial line: the board writes to the slave end, a console reads the master end."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        self.sane = termios.tcgetattr(self.slave)
        self.quiet()

    def quiet(self) -> None:
        """No echo, no line editing: what a line with no firmware behind it does."""
        tty.setraw(self.slave)

    def wake(self) -> None:
        """The line as a booted kernel sets it up: echo, line editing, CRLF output."""
        termios.tcflush(self.slave, termios.TCIFLUSH)
        termios.tcsetattr(self.slave, termios.TCSANOW, self.sane)

    def write_board_side(self, text: str) -> None:
        os.write(self.slave, text.replace("\n", "\r\n").encode())

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


class SimBoardHardware:
    """One simulated board: UART 0 carries its console, UART 1 its power-management log."""

    def __init__(self, ident: str) -> None:
        self.ident = ident
        self.uarts = (Uart(), Uart())
        self.home = tempfile.mkdtemp(prefix=f"hil-sim-{ident}-")
        self.firmware: subprocess.Popen[bytes] | None = None
        #: The SD card the board boots from, when a `sim-storage` resource has put one in.
        self.medium: Path | None = None
        self.powered = False
        self.lock = threading.Lock()
        self.users = 0

    def power_on(self, settings: FirmwareSettings) -> None:
        with self.lock:
            if self.powered:
                return
            self.powered = True
            self.uarts[1].write_board_side("[pmic] power on\n")
            console = self.uarts[0]
            console.wake()
            config = {**asdict(settings), "home": self.home, "medium": str(self.medium) if self.medium else None}
            self.firmware = subprocess.Popen(
                [sys.executable, "-S", firmware.__file__, json.dumps(config)],
                stdin=console.slave,
                stdout=console.slave,
                stderr=console.slave,
                start_new_session=True,
            )

    def power_off(self) -> None:
        with self.lock:
            if not self.powered:
                return
            self.powered = False
            if self.firmware is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.firmware.pid, signal.SIGKILL)
                self.firmware.wait()
                self.firmware = None
            self.uarts[0].quiet()
            self.uarts[1].write_board_side("[pmic] power off\n")

    def unplug(self) -> None:
        self.power_off()
        for uart in self.uarts:
            uart.close()
        shutil.rmtree(self.home, ignore_errors=True)


_bench: dict[str, SimBoardHardware] = {}
_bench_lock = threading.Lock()


def attach(ident: str) -> SimBoardHardware:
    """The simulated board called `ident`, created on first use; pair with `detach`."""
    with _bench_lock:
        board = _bench.get(ident)
        if board is None:
            board = _bench[ident] = SimBoardHardware(ident)
        board.users += 1
        return board


def detach(board: SimBoardHardware) -> None:
    """Stop using a board; the last user unplugs it."""
    with _bench_lock:
        board.users -= 1
        if board.users > 0:
            return
        del _bench[board.ident]
    board.unplug()
