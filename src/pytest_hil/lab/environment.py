"""`${VAR}` and `${VAR:-default}` references, and the secrets they produce."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_REFERENCE = re.compile(r"\$\$|\$\{([^}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

MASK = "***"


class Secret(str):
    """A string read from the environment: usable as a value, never shown."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK)


class BadReference(ValueError):
    """A reference that cannot be expanded; the message says why."""


def expand(text: str, environ: Mapping[str, str]) -> str:
    """Expand references in `text`; a result that used any reference is a `Secret`."""
    used = False

    def replace(match: re.Match[str]) -> str:
        nonlocal used
        if match[0] == "$$":
            return "$"
        used = True
        body = match[1]
        name, has_default, default = body.partition(":-")
        if not _NAME.match(name):
            raise BadReference(f"'${{{body}}}' is not a variable reference (write ${{NAME}} or ${{NAME:-default}})")
        value = environ.get(name)
        if value is None or (has_default and value == ""):
            if has_default:
                return default
            raise BadReference(f"environment variable {name} is not set (write ${{{name}:-default}} for a default)")
        return value

    if "$" not in text:
        return text
    result = _REFERENCE.sub(replace, text)
    return Secret(result) if used else result


def shown(value: Any) -> Any:
    """The value as it may be displayed: secrets masked, containers masked inside."""
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, dict):
        return {key: shown(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shown(item) for item in value]
    return value
