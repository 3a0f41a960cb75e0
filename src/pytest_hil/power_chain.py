"""A board powered through several switches (mains, then USB): on in order, off in reverse order.

Lab files write such a resource as a list of switches: `power: [{driver: tasmota, ...}, {driver: ...}]`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_hil.errors import HilError
from pytest_hil.interfaces import DriverContext, Power

if TYPE_CHECKING:
    from pytest_hil.lab.model import ResourceSpec


@dataclass(frozen=True)
class PowerChainOptions:
    switches: tuple[ResourceSpec, ...]


class PowerChain(Power[PowerChainOptions]):
    """Switches its parts in order on and in reverse order off; on only when all are on."""

    kind = "power-chain"
    Options = PowerChainOptions

    def __init__(self, options: PowerChainOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.switches: list[Power] = []
        try:
            for index, spec in enumerate(options.switches):
                part = dataclasses.replace(context, resource=f"{context.resource}[{index}]")
                switch = spec.driver(spec.options, part)
                assert isinstance(switch, Power)
                self.switches.append(switch)
        except HilError:
            self.close()
            raise

    def on(self) -> None:
        for switch in self.switches:
            switch.on()

    def off(self) -> None:
        for switch in reversed(self.switches):
            switch.off()

    def state(self) -> bool | None:
        states = [switch.state() for switch in self.switches]
        if any(state is False for state in states):
            return False
        return True if all(state is True for state in states) else None

    def close(self) -> None:
        for switch in reversed(self.switches):
            switch.close()
