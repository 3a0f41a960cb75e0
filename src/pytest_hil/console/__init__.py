"""Consoles: pexpect over any byte stream, every byte logged; the shell on top of them."""

from pytest_hil.console.stream_console import StreamConsole
from pytest_hil.errors import ConsoleClosed, ConsoleTimeout

__all__ = ["ConsoleClosed", "ConsoleTimeout", "StreamConsole"]
