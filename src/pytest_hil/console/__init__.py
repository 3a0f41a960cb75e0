"""Consoles: pexpect over any byte stream."""

from pytest_hil.console.stream import ConsoleClosed, ConsoleTimeout, StreamConsole

__all__ = ["ConsoleClosed", "ConsoleTimeout", "StreamConsole"]
