"""`shelly`: Shelly relays, gen1 (`/relay/N?turn=on`) and gen2+ RPC (`/rpc/Switch.Set`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hil_drivers.http import HttpClient, HttpSwitchOptions
from hil_drivers.power.switch import Switch
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext


@dataclass(frozen=True, kw_only=True)
class ShellyOptions(HttpSwitchOptions):
    url: str = field(metadata={"help": "the device, e.g. http://10.0.0.22", "schemes": ("http", "https")})
    relay: int = field(default=0, metadata={"help": "relay (gen1) or switch id (gen2), from 0", "min": 0})
    gen: Literal[1, 2] = field(default=2, metadata={"help": "API generation: 1 (/relay) or 2 (RPC)"})
    username: str | None = field(default=None, metadata={"help": "user for a password-protected gen1 device"})
    password: str | None = field(default=None, metadata={"help": "its password", "secret": True})


class Shelly(Switch[ShellyOptions]):
    """A Shelly relay."""

    kind = "shelly"
    Options = ShellyOptions

    def __init__(self, options: ShellyOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        auth = (options.username, options.password or "") if options.username else None
        self.http = HttpClient(context, options.timeout, options.retries, options.backoff, auth)

    def describe(self) -> str:
        return f"{self.kind} gen{self.options.gen} {self.options.url} relay {self.options.relay}"

    def _get(self, path: str, params: dict[str, Any], key: str) -> Any:
        url = f"{self.options.url.rstrip('/')}{path}"
        reply = self.http.json("GET", url, params=params)
        if not isinstance(reply, dict) or key not in reply:
            raise DriverError(f"{self.context}: {url}: no {key!r} in the answer {reply!r}")
        return reply[key]

    def _switch(self, on: bool) -> bool | None:
        relay = self.options.relay
        if self.options.gen == 1:
            return bool(self._get(f"/relay/{relay}", {"turn": "on" if on else "off"}, "ison"))
        self._get("/rpc/Switch.Set", {"id": relay, "on": "true" if on else "false"}, "was_on")
        return None  # gen2 answers the state before the switch: read it back

    def _read(self) -> bool | None:
        relay = self.options.relay
        if self.options.gen == 1:
            return bool(self._get(f"/relay/{relay}", {}, "ison"))
        return bool(self._get("/rpc/Switch.GetStatus", {"id": relay}, "output"))

    def close(self) -> None:
        self.http.close()
