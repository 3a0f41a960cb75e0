"""A console over any byte stream: a reader thread logs every byte and hands it to pexpect.

The reader runs from the console's creation to its close, so a board's output is logged and kept for
`expect` also while no test is expecting, and a board that prints fast is never held up by a test.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pexpect

from pytest_hil.console.byte_streams import ByteStream, StreamLost, UartStream
from pytest_hil.console.inbox import Inbox, InboxSpawn
from pytest_hil.errors import ConsoleClosed, ConsoleTimeout
from pytest_hil.interfaces import Console, DriverContext, OptionsT, Patterns

READ_SIZE = 65536


class StreamConsole(Console[OptionsT]):
    """Console base: subclasses `attach` a stream (at creation, or at power-on for virtual boards)."""

    def __init__(self, options: Any, context: DriverContext, timeout: float = 30.0, baud: int | None = None) -> None:
        super().__init__(options, context)
        #: Streams behave as if behind a UART at this rate (tests and benchmarks of serial lines).
        self.baud = baud
        self.log = context.logs.console(context.resource)
        self.inbox = Inbox()
        self.stream = InboxSpawn(self.inbox, self.write_bytes, timeout, str(context))
        self._current: ByteStream | None = None
        self._attached = threading.Condition()
        self._closing = False
        self._reader = threading.Thread(target=self._read_forever, name=f"hil console {context}", daemon=True)
        self._reader.start()

    # the stream

    def attach(self, stream: ByteStream) -> None:
        """Start reading `stream` (replacing any previous one)."""
        if self.baud is not None:
            stream = UartStream(stream, self.baud)
        with self._attached:
            previous, self._current = self._current, stream
            self.inbox.reopen()
            self._attached.notify_all()
        if previous is not None:
            previous.close()

    def detach(self) -> None:
        """Stop reading and close the stream; the console stays, silent, until the next `attach`."""
        with self._attached:
            previous, self._current = self._current, None
        if previous is not None:
            previous.close()

    @property
    def attached(self) -> bool:
        return self._current is not None

    def stream_lost(self, stream: ByteStream, reason: str) -> None:
        """The current stream ended by itself; by default the console ends too (subclasses may reopen)."""
        with self._attached:
            if self._current is not stream:
                return  # detached on purpose meanwhile
            self._current = None
        stream.close()
        self.inbox.end(f"{self.context}: {reason}")

    def write_bytes(self, data: bytes) -> None:
        """Send bytes to the board; with no stream attached (board off) they go nowhere, as on a wire."""
        stream = self._current
        if stream is None:
            return
        try:
            stream.write(data)
        except StreamLost as lost:
            raise ConsoleClosed(f"{self.context}: cannot send: {lost}") from None

    def _read_forever(self) -> None:
        while True:
            with self._attached:
                while self._current is None and not self._closing:
                    self._attached.wait()
                if self._closing:
                    return
                stream = self._current
            assert stream is not None
            try:
                data = stream.read(READ_SIZE, 0.2)
            except StreamLost as lost:
                self.stream_lost(stream, str(lost))
                continue
            if data:
                self.log.write(data)
                self.inbox.put(data)

    # pexpect's vocabulary

    @property
    def timeout(self) -> float:
        """The default timeout of `expect` and friends, in seconds."""
        return float(self.stream.timeout)

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self.stream.timeout = seconds

    def expect(self, pattern: Patterns, timeout: float | None = -1, searchwindowsize: int | None = None) -> int:
        return self._expect(self.stream.expect, pattern, timeout, searchwindowsize)

    def expect_exact(self, pattern: Patterns, timeout: float | None = -1, searchwindowsize: int | None = None) -> int:
        return self._expect(self.stream.expect_exact, pattern, timeout, searchwindowsize)

    def _expect(self, method: Any, pattern: Patterns, timeout: float | None, window: int | None) -> int:
        try:
            return int(method(pattern, timeout=timeout, searchwindowsize=window))
        except pexpect.TIMEOUT:
            waited = self.stream.timeout if timeout == -1 else timeout
            raise ConsoleTimeout(
                f"{self.context}: {_shown(pattern)} did not appear within {waited} s; "
                f"last console lines:\n{self.last_lines()}"
            ) from None
        except pexpect.EOF as eof:
            raise ConsoleClosed(
                f"{self.context}: the console closed ({eof}) while waiting for {_shown(pattern)}; "
                f"last console lines:\n{self.last_lines()}"
            ) from None

    def last_lines(self, lines: int = 50) -> str:
        """The last lines the console printed, secrets masked."""
        return self.log.recent_lines(lines)

    def send(self, data: str | bytes) -> int:
        """Send text (UTF-8) or raw bytes."""
        return int(self.stream.send(data))

    def sendline(self, line: str = "") -> int:
        return int(self.stream.sendline(line))

    def sendcontrol(self, char: str) -> int:
        """Send Ctrl+`char` (`sendcontrol("c")` interrupts, `"d"` ends input)."""
        return self.send(control_code(char))

    def read_nonblocking(self, size: int = 65536, timeout: float = 0) -> str:
        """What arrived (or arrives within `timeout` seconds) and no `expect` consumed; '' if nothing."""
        pending = self._take_unmatched()
        if pending:
            return pending
        try:
            return str(self.stream.read_nonblocking(size, timeout))
        except (pexpect.TIMEOUT, pexpect.EOF):
            return ""

    def read_until_quiet(self, quiet: float = 0.5, timeout: float | None = None) -> str:
        deadline = None if timeout is None else time.monotonic() + timeout
        text = self._take_unmatched()
        while True:
            wait = quiet if deadline is None else min(quiet, deadline - time.monotonic())
            if wait <= 0:
                break
            try:
                text += self.stream.read_nonblocking(READ_SIZE, wait)
            except (pexpect.TIMEOUT, pexpect.EOF):
                break
        self.stream.before = text
        return text

    def _take_unmatched(self) -> str:
        """Take what `expect` read but no match consumed, so that no later `expect` sees it again."""
        pending = str(self.stream.buffer)
        self.stream.buffer = ""
        # pexpect keeps a second copy for its next search (4.9: `_before`); it goes with the first
        if hasattr(self.stream, "_before"):
            self.stream._before = self.stream.buffer_type()
        return pending

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
        with self._attached:
            self._closing = True
            self._attached.notify_all()
        self.detach()
        self._reader.join(timeout=2)


def control_code(char: str) -> str:
    """The character a terminal sends for Ctrl+`char`: letters and @ [ \\ ] ^ _ ?."""
    if len(char) != 1:
        raise ValueError(f"sendcontrol takes one character, not {char!r}")
    if char == "?":
        return "\x7f"
    code = ord(char.upper())
    if not 0x40 <= code <= 0x5F:
        raise ValueError(f"there is no control code for {char!r}")
    return chr(code & 0x1F)


def _shown(pattern: Any) -> str:
    if isinstance(pattern, re.Pattern):
        return repr(pattern.pattern)
    if isinstance(pattern, (list, tuple)):
        return "any of " + ", ".join(_shown(item) for item in pattern)
    return repr(pattern)
