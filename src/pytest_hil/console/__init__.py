"""Consoles: pexpect over any byte stream, every byte logged; the shell on top of them.

`StreamConsole` (and pexpect with it) is imported at first use: console logs alone do not need it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_hil.errors import ConsoleClosed, ConsoleTimeout
from pytest_hil.lazy import lazy_names

if TYPE_CHECKING:
    from pytest_hil.console.stream_console import StreamConsole

__all__ = ["ConsoleClosed", "ConsoleTimeout", "StreamConsole"]


__getattr__ = lazy_names(__name__, {"StreamConsole": "pytest_hil.console.stream_console"})
