"""`gpio`: one GPIO line through gpiozero: an output the test drives (a reset or boot-mode line) or an
input it watches (an LED, a ready signal), with waits and edge counting."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from hil_drivers.gpio.pins import pin_factory, pin_number
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext, Gpio


@dataclass(frozen=True)
class GpioOptions:
    pin: str = field(metadata={"help": "the line, as gpiozero names it: GPIO17, BOARD11, 17"})
    direction: Literal["output", "input"] = field(default="output", metadata={"help": "who drives the line"})
    active_high: bool = field(default=True, metadata={"help": "false: active (on) means the line is low"})
    initial: Literal["off", "on", "keep"] = field(
        default="off", metadata={"help": "outputs: the state set when the driver starts"}
    )
    pull_up: bool | None = field(
        default=False, metadata={"help": "inputs: pull-up (true), pull-down (false) or floating (null)"}
    )
    pin_factory: Literal["default", "mock"] = field(
        default="default", metadata={"help": "gpiozero pin factory; mock: simulated pins (the simulated lab)"}
    )


class GpioLine(Gpio[GpioOptions]):
    """A line: `on()`/`off()`/`pulse()` drive an output; `value`, the waits and `count_edges` read any line."""

    kind = "gpio"
    Options = GpioOptions

    def __init__(self, options: GpioOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        factory = pin_factory(options.pin_factory, context)
        from gpiozero import DigitalInputDevice, DigitalOutputDevice, GPIOZeroError

        pin = pin_number(options.pin)
        try:
            if options.direction == "output":
                initial = {"off": False, "on": True, "keep": None}[options.initial]
                self.device: Any = DigitalOutputDevice(
                    pin, active_high=options.active_high, initial_value=initial, pin_factory=factory
                )
            else:
                active_state = None if options.pull_up is not None else options.active_high
                self.device = DigitalInputDevice(
                    pin, pull_up=options.pull_up, active_state=active_state, pin_factory=factory
                )
        except GPIOZeroError as error:
            raise DriverError(f"{context}: pin {options.pin}: {error}") from None
        self.edges = {"rising": 0, "falling": 0}
        self.edges_lock = threading.Condition()  # notified on every edge: waits wake on gpiozero's events
        if options.direction == "input":
            self.device.when_activated = lambda: self._count("rising")
            self.device.when_deactivated = lambda: self._count("falling")

    def _count(self, edge: str) -> None:
        with self.edges_lock:
            self.edges[edge] += 1
            self.edges_lock.notify_all()

    def _output(self, action: str) -> Any:
        if self.options.direction != "output":
            raise DriverError(f"{self.context}: pin {self.options.pin} is an input: it cannot be driven ({action})")
        return self.device

    def on(self) -> None:
        self._output("on").on()

    def off(self) -> None:
        self._output("off").off()

    def pulse(self, seconds: float) -> None:
        """Active for `seconds`, then inactive again (a reset held for N ms: `pulse(0.05)`)."""
        line = self._output("pulse")
        self.context.logs.note(f"[hil] gpio {self.options.pin} pulse {seconds * 1000:g} ms")
        line.on()
        try:
            time.sleep(seconds)
        finally:
            line.off()

    @property
    def value(self) -> int:
        return int(self.device.value)

    def wait_for_active(self, timeout: float | None = None) -> bool:
        """True once the line is active; False if `timeout` seconds pass first."""
        return self._wait(1, timeout)

    def wait_for_inactive(self, timeout: float | None = None) -> bool:
        return self._wait(0, timeout)

    def _wait(self, wanted: int, timeout: float | None) -> bool:
        """Woken by gpiozero's edge events, so a pulse shorter than any polling interval is seen: the
        line is in the wanted state, or went through it since the wait began."""
        edge = "rising" if wanted else "falling"
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.edges_lock:
            start = self.edges[edge]
            while self.value != wanted and self.edges[edge] == start:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                if self.options.direction == "input":
                    self.edges_lock.wait(remaining)
                else:  # an output changes only when we drive it: nothing to wait for but the clock
                    self.edges_lock.wait(min(remaining, 0.01) if remaining is not None else 0.01)
        return True

    def count_edges(self, window: float, edge: Literal["rising", "falling", "both"] = "rising") -> int:
        """How many edges of an input line happen during the next `window` seconds (e.g. LED blinks)."""
        if self.options.direction != "input":
            raise DriverError(f"{self.context}: pin {self.options.pin} is an output: count edges on an input")
        with self.edges_lock:
            before = dict(self.edges)
        time.sleep(window)
        with self.edges_lock:
            after = dict(self.edges)
        kinds = ("rising", "falling") if edge == "both" else (edge,)
        return sum(after[kind] - before[kind] for kind in kinds)

    def close(self) -> None:
        self.device.close()
