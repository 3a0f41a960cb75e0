"""Consoles: pexpect over any byte stream, every byte logged; the shell on top of them."""

from pytest_hil.console.stream import ConsoleClosed, ConsoleTimeout, StreamConsole

__all__ = ["ConsoleClosed", "ConsoleTimeout", "StreamConsole"]
