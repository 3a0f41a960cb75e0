"""`${VAR}` and `${VAR:-default}` references; values of secret-named variables become `Secret`s."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pytest_hil.secrets import Secret, is_secret_name

_REFERENCE = re.compile(r"\$\$|\$\{([^}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Expanded(str):
    """Text that used environment references: options of other types (numbers, booleans) parse it;
    `template` is the text as written (shell-command options hand it to the shell unexpanded)."""

    template: str


class BadReference(ValueError):
    """A reference that cannot be expanded; the message says why."""


def expand(text: str, environ: Mapping[str, str]) -> str:
    """Expand references in `text`: an `Expanded`, or a `Secret` when a secret-named variable was used."""
    used = False
    secret_parts: list[str] = []

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
            if not has_default:
                raise BadReference(f"environment variable {name} is not set (write ${{{name}:-default}} for a default)")
            value = default
        if is_secret_name(name) and value:
            secret_parts.append(value)
        return value

    if "$" not in text:
        return text
    result = _REFERENCE.sub(replace, text)
    if not used:
        return result
    expanded = Secret(result, secret_parts) if secret_parts else Expanded(result)
    expanded.template = text
    return expanded
