"""`gpio-power`: a relay on a GPIO line, through gpiozero (active high or low, an initial state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from hil_drivers.gpio.pins import pin_factory, pin_number
from hil_drivers.power.switch import Switch
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext


@dataclass(frozen=True)
class GpioPowerOptions:
    pin: str = field(metadata={"help": "the line, as gpiozero names it: GPIO17, BOARD11, 17"})
    active_high: bool = field(default=True, metadata={"help": "false: the relay closes when the line is low"})
    initial: Literal["off", "on", "keep"] = field(
        default="keep", metadata={"help": "state set when the driver starts (keep: leave the line as it is)"}
    )
    pin_factory: Literal["default", "mock"] = field(
        default="default", metadata={"help": "gpiozero pin factory; mock: simulated pins (no hardware)"}
    )


class GpioPower(Switch[GpioPowerOptions]):
    """Drives the relay's line; the state is what the line says."""

    kind = "gpio-power"
    Options = GpioPowerOptions

    def __init__(self, options: GpioPowerOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        factory = pin_factory(options.pin_factory, context)
        from gpiozero import DigitalOutputDevice, GPIOZeroError

        initial = {"off": False, "on": True, "keep": None}[options.initial]
        try:
            self.line = DigitalOutputDevice(
                pin_number(options.pin), active_high=options.active_high, initial_value=initial, pin_factory=factory
            )
        except GPIOZeroError as error:
            raise DriverError(f"{context}: pin {options.pin}: {error}") from None

    def describe(self) -> str:
        level = "active high" if self.options.active_high else "active low"
        return f"{self.kind} {self.options.pin} {level}"

    def _switch(self, on: bool) -> bool | None:
        if on:
            self.line.on()
        else:
            self.line.off()
        return bool(self.line.value)

    def _read(self) -> bool | None:
        return bool(self.line.value)

    def close(self) -> None:
        self.line.close()
