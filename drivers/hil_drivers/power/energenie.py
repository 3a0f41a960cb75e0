"""`energenie`: EnerGenie EG-PMS2-LAN style power strips, driven through their web pages as a browser
would: log in with the password form, post the socket's form, read `sockstates` back, log out.

The strip keeps one web session at a time (whoever logged in last), so every action logs in, does
its work and logs out again at once; a wrong password is answered with the login page again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hil_drivers.http import HttpClient, HttpSwitchOptions
from hil_drivers.power.switch import Switch
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext

#: The status page's socket states, e.g. `var sockstates = [0,1,0,0];`.
SOCKET_STATES = re.compile(r"sockstates\s*=\s*\[\s*([01](?:\s*,\s*[01])*)\s*\]")


@dataclass(frozen=True, kw_only=True)
class EnergenieOptions(HttpSwitchOptions):
    host: str = field(metadata={"help": "the strip's address (host or host:port; http)"})
    password: str = field(default="1", metadata={"help": "its web password (factory default 1)", "secret": True})
    socket: int = field(default=1, metadata={"help": "socket number", "min": 1, "max": 4})

    def __post_init__(self) -> None:
        if "/" in self.host or not self.host.strip():
            raise ValueError(f"host: {self.host!r}: the strip's host name or address (host or host:port), no URL")


class Energenie(Switch[EnergenieOptions]):
    """One socket of an EnerGenie LAN power strip."""

    kind = "energenie"
    Options = EnergenieOptions

    def __init__(self, options: EnergenieOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.base = f"http://{options.host}"
        self.http = HttpClient(context, options.timeout, options.retries, options.backoff)

    def describe(self) -> str:
        return f"{self.kind} {self.base} socket {self.options.socket}"

    def _states(self, page: str, after: str) -> list[bool]:
        found = SOCKET_STATES.search(page)
        if found is None:
            if 'name="pw"' in page or "name=pw" in page:
                raise DriverError(f"{self.context}: {self.base}: wrong password (the strip answered its login page)")
            raise DriverError(f"{self.context}: {self.base}: {after}: no socket states in the page it answered")
        states = [part.strip() == "1" for part in found[1].split(",")]
        if self.options.socket > len(states):
            raise DriverError(f"{self.context}: {self.base} has {len(states)} sockets, not {self.options.socket}")
        return states

    def _session(self, form: dict[str, str] | None) -> bool:
        """Log in, post `form` (if any), return the socket's state, and always log out."""
        page = self.http.request("POST", f"{self.base}/login.html", data={"pw": self.options.password}).text
        try:
            states = self._states(page, "after logging in")
            if form is not None:
                page = self.http.request("POST", f"{self.base}/", data=form).text
                states = self._states(page, "after switching")
            return states[self.options.socket - 1]
        finally:
            self.http.request("GET", f"{self.base}/login.html")  # logs out: the strip has one session

    def _switch(self, on: bool) -> bool | None:
        return self._session({f"cte{self.options.socket}": "1" if on else "0"})

    def _read(self) -> bool | None:
        return self._session(None)

    def close(self) -> None:
        self.http.close()
