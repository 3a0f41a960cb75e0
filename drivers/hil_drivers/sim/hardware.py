"""The simulated board itself: its serial lines (real pseudo-terminals) and its firmware process.

The sim drivers are the lab's view of this hardware, as a power switch and a serial adapter are of a
real board: `sim-power` switches it, `sim-console` opens one of its UARTs. Boards live per process and
are unplugged when the last driver using them closes.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
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
from typing import Any

from hil_drivers.sim import firmware
from hil_drivers.sim.ecu import Ecu, identifiers


@dataclass(frozen=True)
class FirmwareSettings:
    """What the simulated firmware prints and accepts."""

    hostname: str
    username: str
    password: str | None
    prompt: str
    boot_time: float
    kernel_messages: float = 0.0
    #: Mock GPIO lines (gpiozero names): an LED that follows the boot, a button read at power-on.
    led_pin: str | None = None
    boot_mode_pin: str | None = None
    #: python-can `virtual` channel of its CAN node (heartbeat, UDS over ISO-TP), and its node id.
    can_channel: str | None = None
    can_node: int = 1
    #: Loopback port of its SSH server (paramiko), up while powered.
    ssh_port: int | None = None  # 0: a free port


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
        self.ecu: Ecu | None = None
        self.sshd: Any = None
        #: What the firmware says it is doing: off, booting, ready (at the login prompt or in a shell).
        self.state = "off"
        self.generation = 0  # power-ons so far: a status reader of an earlier one stays quiet
        #: Text the board's shell put on its display (`echo hello > $HIL_SCREEN`).
        self.screen = Path(self.home) / "screen.txt"
        self.lock = threading.Lock()
        self.users = 0

    def power_on(self, settings: FirmwareSettings) -> None:
        """Boot the firmware; an SSH port that is taken raises `OSError` before anything starts."""
        with self.lock:
            if self.powered:
                return
            if settings.ssh_port is not None:  # first: a taken port leaves the board off
                from hil_drivers.sim.sshd import SimSshServer, shell_environment

                environment = shell_environment(self.home, settings.username, self.screen)
                self.sshd = SimSshServer(
                    settings.ssh_port, settings.username, settings.password, self.home, environment
                )
            self.powered = True
            self.generation += 1
            self.state = "booting"
            self.screen.unlink(missing_ok=True)
            (Path(self.home) / firmware.LOGLEVEL_FILE).unlink(missing_ok=True)  # a boot resets the log level
            self.uarts[1].write_board_side("[pmic] power on\n")
            console = self.uarts[0]
            console.wake()
            status_read, status_write = os.pipe()
            config = {
                **asdict(settings),
                "home": self.home,
                "screen": str(self.screen),
                "medium": str(self.medium) if self.medium else None,
                "boot_mode": "recovery" if settings.boot_mode_pin and _pin(settings.boot_mode_pin).state else "normal",
                "status_fd": status_write,
            }
            config_read, config_write = os.pipe()  # the settings (with the password) never show in `ps`
            os.write(config_write, json.dumps(config).encode())
            os.close(config_write)
            self.firmware = subprocess.Popen(
                [sys.executable, "-S", firmware.__file__, str(config_read)],
                stdin=console.slave,
                stdout=console.slave,
                stderr=console.slave,
                start_new_session=True,
                pass_fds=(status_write, config_read),
            )
            os.close(status_write)
            os.close(config_read)
            threading.Thread(
                target=self._follow_status,
                args=(status_read, settings.led_pin, self.generation),
                name=f"sim-{self.ident}-led",
                daemon=True,
            ).start()
            if settings.can_channel:
                self.ecu = Ecu(settings.can_channel, settings.can_node, identifiers(self.ident, self._software()))
                self.ecu.start()

    def _follow_status(self, status: int, led_pin: str | None, generation: int) -> None:
        """Drive the LED line as the firmware reports its state: blinking while it boots, steady at the
        login prompt, dark once the firmware is gone (its end of the pipe closes)."""
        led = _pin(led_pin) if led_pin else None
        state, lit = "booting", False
        with os.fdopen(status, "rb", buffering=0) as reports:
            while True:
                ready, _, _ = select.select([reports], [], [], 0.1)
                if ready:
                    line = reports.readline()
                    if not line:
                        break
                    state = line.decode().strip()
                    if generation == self.generation:
                        self.state = state
                lit = (not lit) if state == "booting" else state == "ready"
                if led is not None:
                    (led.drive_high if lit else led.drive_low)()
        if generation == self.generation:
            self.state = "off"
            if led is not None:
                led.drive_low()

    def _software(self) -> str:
        """What the board runs: the image on its card (as labelled when flashed), else its own firmware."""
        label = self.medium.with_name(self.medium.name + ".label") if self.medium else None
        return label.read_text().strip() if label and label.exists() else "sim-firmware-1.0"

    def power_off(self) -> None:
        with self.lock:
            if not self.powered:
                return
            self.powered = False
            if self.ecu is not None:
                self.ecu.stop()
                self.ecu = None
            if self.sshd is not None:
                self.sshd.stop()
                self.sshd = None
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


def _pin(name: str) -> Any:
    """A line of the mock pin factory the sim lab shares with `gpio` resources (`pin_factory: mock`)."""
    from hil_drivers.gpio.pins import pin_factory, pin_number

    return pin_factory("mock").pin(pin_number(name))


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
