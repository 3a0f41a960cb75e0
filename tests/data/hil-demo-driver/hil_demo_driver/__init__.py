"""`demo-relay`: a relay whose coil is a line in a journal file, so tests can read what it did."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_hil import hookimpl
from pytest_hil.interfaces import DriverContext, Power


@dataclass(frozen=True)
class DemoRelayOptions:
    journal: Path
    channel: int = 1


class DemoRelay(Power):
    """Records open, on, off and close in its journal."""

    kind = "demo-relay"
    Options = DemoRelayOptions

    def __init__(self, options: DemoRelayOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.record("open")

    def record(self, event: str) -> None:
        with open(self.options.journal, "a") as journal:
            journal.write(f"{event} {self.context.board}.{self.context.resource} ch{self.options.channel}\n")

    def on(self) -> None:
        self.record("on")

    def off(self) -> None:
        self.record("off")

    def state(self) -> bool | None:
        lines = self.options.journal.read_text().splitlines()
        switched = [line for line in lines if line.startswith(("on ", "off ")) and self.context.resource in line]
        return switched[-1].startswith("on ") if switched else None

    def close(self) -> None:
        self.record("close")


@hookimpl
def hil_drivers() -> list[type[Power]]:
    return [DemoRelay]
