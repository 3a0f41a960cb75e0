"""Text other people wrote (holders, reasons, host names), made safe to print on one line."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with control characters (escape sequences, newlines, bells) written as `\\x1b`-style escapes."""
    return _CONTROL.sub(lambda match: repr(match[0])[1:-1], text)
