"""`sim-power`: the switch of a simulated board, which also says what its firmware accepts."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from hil_drivers.sim.hardware import FirmwareSettings, attach, detach
from pytest_hil import hookimpl
from pytest_hil.errors import DriverError, DriverUnavailable
from pytest_hil.interfaces import Driver, DriverContext, Power


@dataclass(frozen=True)
class SimPowerOptions:
    board: str | None = field(default=None, metadata={"help": "simulated board to switch (default: this board)"})
    hostname: str | None = field(default=None, metadata={"help": "name the firmware prints (default: the board's)"})
    username: str = field(default="root", metadata={"help": "login the firmware accepts"})
    password: str | None = field(
        default=None, metadata={"help": "its password; none: no password asked", "secret": True}
    )
    prompt: str = field(default="root@{hostname}:$PWD# ", metadata={"help": "shell prompt (PS1)"})
    boot_time: float = field(
        default=1.0, metadata={"help": "seconds from power-on to the login prompt", "min": 0, "max": 3600}
    )
    kernel_messages: float = field(
        default=0.0,
        metadata={"help": "seconds between kernel-style lines printed at random moments (0: none)", "min": 0},
    )
    led_pin: str | None = field(
        default=None, metadata={"help": "mock GPIO line of its status LED: blinks while booting, on at the login"}
    )
    boot_mode_pin: str | None = field(
        default=None, metadata={"help": "mock GPIO line of its boot-mode button: held high at power-on = recovery"}
    )
    can_channel: str | None = field(
        default=None, metadata={"help": "python-can virtual channel of its CAN node (heartbeat 0x700+node, UDS)"}
    )
    can_node: int = field(default=1, metadata={"help": "its CAN node id", "min": 1, "max": 127})
    ssh: bool = field(
        default=False,
        metadata={"help": "run an SSH server on a free loopback port while powered (reach it with sim-ssh)"},
    )
    ssh_port: int | None = field(
        default=None,
        metadata={"help": "run the SSH server on this loopback port instead (needs paramiko)", "min": 1, "max": 65535},
    )


class SimPower(Power[SimPowerOptions]):
    """Powers a simulated board: on boots its firmware, off kills it and silences its console."""

    kind = "sim-power"
    process_bound = True
    Options = SimPowerOptions

    def __init__(self, options: SimPowerOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        hostname = options.hostname or context.board
        self.settings = FirmwareSettings(
            hostname=hostname,
            username=options.username,
            password=options.password,
            prompt=options.prompt.replace("{hostname}", hostname),
            boot_time=options.boot_time,
            kernel_messages=options.kernel_messages,
            led_pin=options.led_pin,
            boot_mode_pin=options.boot_mode_pin,
            can_channel=options.can_channel,
            can_node=options.can_node,
            ssh_port=options.ssh_port if options.ssh_port is not None else (0 if options.ssh else None),
        )
        _require(context, options)
        self.hardware = attach(options.board or context.board)

    def on(self) -> None:
        self.context.logs.power_event(f"[hil] power on ({self.kind} {self.hardware.ident})")
        try:
            self.hardware.power_on(self.settings)
        except OSError as error:
            why = os.strerror(error.errno) if error.errno else str(error)
            raise DriverError(
                f"{self.context}: the board's SSH server cannot listen on 127.0.0.1:{self.settings.ssh_port} "
                f"({why}): another program uses it; choose another ssh_port, or write ssh: true for a free port "
                "(reached with a sim-ssh resource)"
            ) from None

    def off(self) -> None:
        self.context.logs.power_event(f"[hil] power off ({self.kind} {self.hardware.ident})")
        self.hardware.power_off()

    def state(self) -> bool:
        return self.hardware.powered

    def close(self) -> None:
        detach(self.hardware)


def _require(context: DriverContext, options: SimPowerOptions) -> None:
    """The libraries the board's optional parts need, checked before it powers on (tests skip)."""
    needs = {
        "can": options.can_channel is not None,
        "gpiozero": options.led_pin is not None or options.boot_mode_pin is not None,
        "paramiko": options.ssh or options.ssh_port is not None,
    }
    missing = [module for module, needed in needs.items() if needed and importlib.util.find_spec(module) is None]
    if missing:
        raise DriverUnavailable(
            f"{context}: the simulated board's options need {', '.join(missing)}: pip install 'pytest-hil[sim]'"
        )


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    """`SimPower` alone: the entry point of its kind names this module."""
    return [SimPower]
