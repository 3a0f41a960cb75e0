"""A console over a file descriptor, read with pexpect so tests speak pexpect's vocabulary."""

from __future__ import annotations

import abc
import os
import re
from typing import Any

import pexpect
import pexpect.fdpexpect

from pytest_hil.errors import HilError
from pytest_hil.interfaces import Console, Patterns


class ConsoleTimeout(HilError):
    """A pattern did not appear in time; the message shows what the board printed instead."""


class ConsoleClosed(HilError):
    """The stream ended (device gone, process exited) while waiting for a pattern."""


class StreamConsole(Console):
    """Console base for drivers that can hand over a readable, writable file descriptor."""

    default_timeout: float = 30.0

    _spawn: pexpect.fdpexpect.fdspawn | None = None

    @abc.abstractmethod
    def open_fd(self) -> int:
        """Open the stream and return a file descriptor the console owns (and closes)."""

    @property
    def stream(self) -> pexpect.fdpexpect.fdspawn:
        """The pexpect object over the stream, opened on first use."""
        if self._spawn is None:
            self._spawn = pexpect.fdpexpect.fdspawn(
                self.open_fd(), timeout=self.default_timeout, encoding="utf-8", codec_errors="replace"
            )
        return self._spawn

    def expect(self, pattern: Patterns, timeout: float | None = -1) -> int:
        return self._expect(self.stream.expect, pattern, timeout)

    def expect_exact(self, pattern: Patterns, timeout: float | None = -1) -> int:
        return self._expect(self.stream.expect_exact, pattern, timeout)

    def _expect(self, method: Any, pattern: Patterns, timeout: float | None) -> int:
        try:
            return int(method(pattern, timeout=timeout))
        except pexpect.TIMEOUT:
            waited = self.stream.timeout if timeout == -1 else timeout
            raise ConsoleTimeout(
                f"{self.context}: {pattern!r} did not appear within {waited} s; "
                f"last output: {_tail(self.stream.before)!r}"
            ) from None
        except pexpect.EOF:
            raise ConsoleClosed(
                f"{self.context}: the console closed while waiting for {pattern!r}; "
                f"last output: {_tail(self.stream.before)!r}"
            ) from None

    def send(self, data: str | bytes) -> int:
        """Send text (UTF-8) or raw bytes."""
        if isinstance(data, bytes):
            return os.write(self.stream.child_fd, data)
        return int(self.stream.send(data))

    def sendline(self, line: str = "") -> int:
        return int(self.stream.sendline(line))

    def sendcontrol(self, char: str) -> int:
        """Send Ctrl+`char` (`sendcontrol("c")` interrupts, `"d"` ends input)."""
        return self.send(control_code(char))

    def read_nonblocking(self, size: int = 4096, timeout: float = 0) -> str:
        """Whatever is there within `timeout` seconds ('' when nothing came)."""
        try:
            return str(self.stream.read_nonblocking(size, timeout))
        except pexpect.TIMEOUT:
            return ""

    @property
    def before(self) -> str:
        before = self.stream.before
        return before if isinstance(before, str) else ""

    @property
    def after(self) -> str:
        after = self.stream.after
        return after if isinstance(after, str) else ""

    @property
    def match(self) -> re.Match[str] | None:
        match = self.stream.match
        return match if isinstance(match, re.Match) else None

    def close(self) -> None:
        if self._spawn is not None:
            self._spawn.close()
            self._spawn = None


def control_code(char: str) -> str:
    """The byte a terminal sends for Ctrl+`char`: letters and @ [ \\ ] ^ _ ?."""
    if len(char) != 1:
        raise ValueError(f"sendcontrol takes one character, not {char!r}")
    if char == "?":
        return "\x7f"
    code = ord(char.upper())
    if not 0x40 <= code <= 0x5F:
        raise ValueError(f"there is no control code for {char!r}")
    return chr(code & 0x1F)


def _tail(text: Any, lines: int = 5) -> str:
    if not isinstance(text, str):
        return ""
    return "\n".join(text.splitlines()[-lines:])
