"""`http-power`: any switch with an HTTP interface, configured by URL templates (relay boards, REST PDUs)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from hil_drivers.http import HttpClient, HttpSwitchOptions
from hil_drivers.power.switch import Switch
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext

Method = Literal["GET", "POST", "PUT"]


@dataclass(frozen=True, kw_only=True)
class HttpPowerOptions(HttpSwitchOptions):
    url: str = field(metadata={"help": "base URL; {url} in the other URLs stands for it", "schemes": ("http", "https")})
    on_url: str = field(default="{url}/on", metadata={"help": "request that switches on"})
    off_url: str = field(default="{url}/off", metadata={"help": "request that switches off"})
    state_url: str | None = field(default=None, metadata={"help": "request that reads the state (none: unknown)"})
    method: Method = field(default="POST", metadata={"help": "method of on_url and off_url"})
    state_method: Method = field(default="GET", metadata={"help": "method of state_url"})
    body_on: str | None = field(default=None, metadata={"help": "request body to switch on"})
    body_off: str | None = field(default=None, metadata={"help": "request body to switch off"})
    expect: str | None = field(default=None, metadata={"help": "regex the on/off answer must match"})
    state_on: str = field(default=r"(?i)\b(on|true|1)\b", metadata={"help": "regex of a state answer meaning on"})
    state_off: str = field(default=r"(?i)\b(off|false|0)\b", metadata={"help": "regex of a state answer meaning off"})
    username: str | None = field(default=None, metadata={"help": "HTTP basic auth user"})
    password: str | None = field(default=None, metadata={"help": "HTTP basic auth password", "secret": True})

    def __post_init__(self) -> None:
        for name in ("expect", "state_on", "state_off"):
            pattern = getattr(self, name)
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as error:
                    raise ValueError(f"{name}: not a valid regular expression: {error}") from None


class HttpPower(Switch[HttpPowerOptions]):
    """Switches by requesting a URL; reads the state from another, when given."""

    kind = "http-power"
    Options = HttpPowerOptions

    def __init__(self, options: HttpPowerOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        auth = (options.username, options.password or "") if options.username else None
        self.http = HttpClient(context, options.timeout, options.retries, options.backoff, auth)

    def describe(self) -> str:
        return f"{self.kind} {self.options.url}"

    def _url(self, template: str) -> str:
        return template.replace("{url}", self.options.url.rstrip("/"))

    def _switch(self, on: bool) -> bool | None:
        options = self.options
        url = self._url(options.on_url if on else options.off_url)
        response = self.http.request(options.method, url, data=options.body_on if on else options.body_off)
        if options.expect and not re.search(options.expect, response.text):
            raise DriverError(
                f"{self.context}: {options.method} {url}: the answer {response.text[:200]!r} does not match "
                f"expect {options.expect!r}"
            )
        return None

    def _read(self) -> bool | None:
        if self.options.state_url is None:
            return None
        url = self._url(self.options.state_url)
        text = self.http.request(self.options.state_method, url).text
        if re.search(self.options.state_on, text):
            return True
        if re.search(self.options.state_off, text):
            return False
        raise DriverError(f"{self.context}: {url}: cannot tell on from off in the answer {text[:200]!r}")

    def close(self) -> None:
        self.http.close()
