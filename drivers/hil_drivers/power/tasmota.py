"""`tasmota`: Tasmota firmware's HTTP command API (`/cm?cmnd=Power1 On`), state read from its JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hil_drivers.http import HttpClient, HttpSwitchOptions
from hil_drivers.power.switch import Switch
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext


@dataclass(frozen=True, kw_only=True)
class TasmotaOptions(HttpSwitchOptions):
    url: str = field(metadata={"help": "the device, e.g. http://10.0.0.21", "schemes": ("http", "https")})
    relay: int = field(default=1, metadata={"help": "relay number (Power<N>)", "min": 1})
    username: str | None = field(default=None, metadata={"help": "web user, when the device has a password"})
    password: str | None = field(default=None, metadata={"help": "web password", "secret": True})


class Tasmota(Switch[TasmotaOptions]):
    """A Tasmota plug or relay board."""

    kind = "tasmota"
    Options = TasmotaOptions

    def __init__(self, options: TasmotaOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.http = HttpClient(context, options.timeout, options.retries, options.backoff)

    def describe(self) -> str:
        return f"{self.kind} {self.options.url} relay {self.options.relay}"

    def _command(self, command: str) -> bool:
        params: dict[str, Any] = {"cmnd": command}
        if self.options.username:
            params.update(user=self.options.username, password=self.options.password or "")
        url = f"{self.options.url.rstrip('/')}/cm"
        reply = self.http.json("GET", url, params=params)
        relay = self.options.relay
        # single-relay devices answer "POWER", several relays "POWER1", "POWER2"...
        value = (
            reply.get(f"POWER{relay}", reply.get("POWER") if relay == 1 else None) if isinstance(reply, dict) else None
        )
        if value not in ("ON", "OFF"):
            raise DriverError(f"{self.context}: {url}?cmnd={command}: no POWER{relay} ON/OFF in the answer {reply!r}")
        return bool(value == "ON")

    def _switch(self, on: bool) -> bool | None:
        return self._command(f"Power{self.options.relay} {'On' if on else 'Off'}")

    def _read(self) -> bool | None:
        return self._command(f"Power{self.options.relay}")

    def close(self) -> None:
        self.http.close()
