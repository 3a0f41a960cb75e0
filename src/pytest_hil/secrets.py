"""Which values are secrets, and masking them in everything pytest-hil shows.

A value is a secret when it is
- the value of an option its driver declares secret (`field(metadata={"secret": True})`; every
  `password` of the built-in drivers and `shell.password`), written in the lab file or not;
- the password of a URL (`scheme://user:PASSWORD@host`) or a URL query parameter whose name says
  pass, pwd, token, secret, key, auth, sig or credential;
- the value of a `${VAR}` whose name says PASS, PW, PWD, TOKEN, SECRET, KEY, AUTH or CREDENTIAL.
Labels, numbers and booleans never are. A secret shorter than `MIN_LENGTH` characters is masked
where it is shown as a value, but not searched for in running text (console output, messages):
masking it there would mask ordinary words, so `hil check` warns about it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MASK = "***"
#: Shorter secrets are not searched for in running text.
MIN_LENGTH = 4

_SECRET_WORDS = ("PASS", "PWD", "TOKEN", "SECRET", "KEY", "AUTH", "CREDENTIAL")
_SECRET_PARAMETER = re.compile(r"pass|pwd|token|secret|key|auth|sig|credential", re.IGNORECASE)
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says it holds a secret (`ROOT_PASSWORD`, `PDU_PW`, `API_KEY`)."""
    upper = name.upper()
    return "PW" in upper.split("_") or any(word in upper for word in _SECRET_WORDS)


class Secret(str):
    """A string that is, or contains, secrets: usable as its value; `repr()` masks the secret parts."""

    parts: tuple[str, ...]
    #: The text as written, when it came from `${VAR}` references (see `pytest_hil.lab.environment`).
    template: str

    def __new__(cls, value: str, parts: Iterable[str] | None = None) -> Secret:
        secret = super().__new__(cls, value)
        secret.parts = tuple(part for part in (parts if parts is not None else (value,)) if part)
        return secret

    def __repr__(self) -> str:
        return repr(masked_parts(str(self), self.parts))

    def shown(self) -> str:
        """The value with its secret parts masked."""
        return masked_parts(str(self), self.parts)


def masked_parts(text: str, parts: Iterable[str]) -> str:
    """`text` with each of `parts` (longest first) replaced by the mask."""
    for part in sorted(set(parts), key=len, reverse=True):
        if part:
            text = text.replace(part, MASK)
    return text


def url_secrets(text: str) -> list[str]:
    """The secrets written in the URLs inside `text`: user-info passwords and secret query values."""
    found = []
    for match in _URL.finditer(text):
        try:
            parts = urlsplit(match[0])
            password = parts.password
        except ValueError:
            continue
        if password:
            found.append(password)
        found.extend(value for key, value in parse_qsl(parts.query) if value and _SECRET_PARAMETER.search(key))
    return found


def redact_urls(text: str) -> str:
    """`text` with the secrets of every URL in it masked, known to the registry or not."""
    secrets = url_secrets(text)
    return masked_parts(text, secrets) if secrets else text


class SecretRegistry:
    """The secrets this process knows of (every lab it loaded, every store URL it opened)."""

    def __init__(self) -> None:
        self._values: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, *values: str) -> None:
        """Remember secrets; those shorter than `MIN_LENGTH` are not searched for in text."""
        fresh = {str(value) for value in values if len(value) >= MIN_LENGTH}
        with self._lock:
            if not fresh.issubset(self._values):
                self._values = tuple(sorted(set(self._values) | fresh, key=len, reverse=True))

    def replace(self, values: tuple[str, ...]) -> None:
        """Put back what `values` held (tests keep one test's secrets from masking another's text)."""
        with self._lock:
            self._values = values

    @property
    def values(self) -> tuple[str, ...]:
        """The searched-for secrets, longest first."""
        return self._values

    def mask(self, text: str) -> str:
        """`text` with every known secret and every URL's credentials masked."""
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return redact_urls(text) if "://" in text else text


#: The process-wide registry every output path masks with.
REGISTRY = SecretRegistry()


def register(*values: str) -> None:
    """Add secrets to the process-wide registry."""
    REGISTRY.add(*values)


def mask(text: str) -> str:
    """`text` as it may be shown: known secrets and URL credentials masked."""
    return REGISTRY.mask(text)


def shown(value: Any) -> Any:
    """A lab value as it may be displayed: secrets masked, containers masked inside."""
    if isinstance(value, Secret):
        return value.shown()
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {key: shown(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [shown(item) for item in value]
    return value
