"""HTTP for drivers of networked devices (power switches, video servers): timeouts, retries with
backoff for what is worth retrying, and errors that name board, resource, URL and what came back."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pytest_hil.errors import DriverError, DriverUnavailable
from pytest_hil.interfaces import DriverContext

#: Statuses that mean "try again": the device or a proxy in front of it is briefly unwell.
RETRY_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True, kw_only=True)
class HttpSwitchOptions:
    """Options every HTTP switch has."""

    timeout: float = field(default=5.0, metadata={"help": "connect and read timeout, seconds", "above": 0, "max": 3600})
    retries: int = field(
        default=2, metadata={"help": "extra tries after a refused connection, timeout or 5xx", "min": 0, "max": 100}
    )
    backoff: float = field(
        default=0.2, metadata={"help": "seconds before the first retry, doubling after", "min": 0, "max": 600}
    )


class HttpClient:
    """requests with a connect/read timeout and `retries` extra tries after transient failures."""

    def __init__(
        self,
        context: DriverContext,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
        auth: tuple[str, str] | None = None,
    ) -> None:
        try:
            import requests
        except ImportError:
            raise DriverUnavailable(f"{context}: requests is not installed (pip install 'pytest-hil[power]')") from None
        self.requests = requests
        self.session = requests.Session()
        self.session.auth = auth
        self.context = context
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        """The response to `method url` (2xx or 4xx); a DriverError after the last failed try."""
        requests = self.requests
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self.session.request(method, url, timeout=(self.timeout, self.timeout), **kwargs)
            except requests.ConnectionError as error:
                problem = f"cannot connect ({_reason(error)})"
                continue
            except requests.Timeout:
                problem = f"no answer within {self.timeout:g} s"
                continue
            except requests.RequestException as error:  # requests' text may carry the URL: masked by DriverError
                raise DriverError(f"{self.context}: {method} {url}: {type(error).__name__}: {error}") from None
            if response.status_code in RETRY_STATUSES:
                problem = f"the switch answered {response.status_code} {_body(response)}"
                continue
            if response.status_code >= 400:
                raise DriverError(
                    f"{self.context}: {method} {url}: the switch answered {response.status_code} {_body(response)}"
                )
            return response
        tries = f"{self.retries + 1} tries" if self.retries else "1 try"
        raise DriverError(f"{self.context}: {method} {url}: {problem} ({tries})")

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        """The JSON body of the response; a DriverError naming the body when it is not JSON."""
        response = self.request(method, url, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise DriverError(
                f"{self.context}: {method} {url}: expected JSON, the switch answered {_body(response)}"
            ) from None

    def close(self) -> None:
        self.session.close()


def _body(response: Any) -> str:
    text = response.text.strip().replace("\n", " ")
    return repr(text[:200] + ("..." if len(text) > 200 else ""))


def _reason(error: Exception) -> str:
    text = str(error)
    for hint in ("Connection refused", "Name or service not known", "No route to host", "timed out"):
        if hint in text:
            return hint.lower()
    return text[:200]
