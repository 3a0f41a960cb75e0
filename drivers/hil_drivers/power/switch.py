"""What every power switch does around the switching itself: log it, then check the switch obeyed."""

from __future__ import annotations

import abc

from pytest_hil.errors import DriverError
from pytest_hil.interfaces import OptionsT, Power


class Switch(Power[OptionsT]):
    """A power driver that switches with `_switch(on)` and may read its state back with `_read()`."""

    def describe(self) -> str:
        """How the log names this switch, e.g. `tasmota http://10.0.0.21 relay 1`."""
        return self.kind

    @abc.abstractmethod
    def _switch(self, on: bool) -> bool | None:
        """Switch; return the state the switch reported in its answer, if it did."""

    def _read(self) -> bool | None:
        return None

    def on(self) -> None:
        self._set(True)

    def off(self) -> None:
        self._set(False)

    def state(self) -> bool | None:
        return self._read()

    def _set(self, on: bool) -> None:
        wanted = "on" if on else "off"
        self.context.logs.power_event(f"[hil] power {wanted} ({self.describe()})")
        reported = self._switch(on)
        if reported is None:
            reported = self._read()
        if reported is not None and reported != on:
            raise DriverError(
                f"{self.context}: switched {wanted}, but {self.describe()} reports {'on' if reported else 'off'}"
            )
