"""Consoles: pexpect over any byte stream, every byte logged; the shell on top of them.

`StreamConsole` (and pexpect with it) is imported at first use: console logs alone do not need it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_hil.errors import ConsoleClosed, ConsoleTimeout

if TYPE_CHECKING:
    from pytest_hil.console.stream_console import StreamConsole

__all__ = ["ConsoleClosed", "ConsoleTimeout", "StreamConsole"]


def __getattr__(name: str) -> Any:
    if name != "StreamConsole":
        raise AttributeError(f"module 'pytest_hil.console' has no attribute {name!r}")
    from pytest_hil.console.stream_console import StreamConsole

    globals()["StreamConsole"] = StreamConsole
    return StreamConsole
