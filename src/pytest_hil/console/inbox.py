"""Where a console's reader thread leaves bytes for pexpect, so nothing waits on a test to be read."""

from __future__ import annotations

import threading
import time
from typing import Any

import pexpect
from pexpect.spawnbase import SpawnBase

#: Bytes kept for `expect` when a test reads nothing; older ones leave the buffer (never the log).
INBOX_LIMIT = 16 * 1024 * 1024


class Inbox:
    """A thread-safe byte queue: the reader puts, `expect` takes."""

    def __init__(self, limit: int = INBOX_LIMIT) -> None:
        self.data = bytearray()
        self.limit = limit
        self.dropped = 0
        self.ended: str | None = None
        self.ready = threading.Condition()

    def put(self, chunk: bytes) -> None:
        with self.ready:
            self.data += chunk
            excess = len(self.data) - self.limit
            if excess > 0:
                del self.data[:excess]
                self.dropped += excess
            self.ready.notify_all()

    def end(self, reason: str) -> None:
        """No more bytes will come (the stream is gone for good)."""
        with self.ready:
            self.ended = reason
            self.ready.notify_all()

    def reopen(self) -> None:
        with self.ready:
            self.ended = None

    def take(self, size: int, timeout: float | None) -> bytes | None:
        """Up to `size` bytes, waiting up to `timeout` (None: forever); None when nothing came."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.ready:
            while not self.data:
                if self.ended is not None:
                    raise pexpect.EOF(self.ended)
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self.ready.wait(remaining)
            chunk = bytes(self.data[:size])
            del self.data[:size]
            return chunk


class InboxSpawn(SpawnBase):  # type: ignore[misc]
    """pexpect's expect machinery over an `Inbox`; writes go through `writer`."""

    def __init__(self, inbox: Inbox, writer: Any, timeout: float, name: str) -> None:
        super().__init__(timeout=timeout, maxread=65536, encoding="utf-8", codec_errors="replace")
        self.inbox = inbox
        self.writer = writer
        self.child_fd = -1
        self.name = name

    def read_nonblocking(self, size: int = 1, timeout: float | None = -1) -> str:
        if timeout == -1:
            timeout = self.timeout
        data = self.inbox.take(size, timeout)
        if data is None:
            raise pexpect.TIMEOUT("Timeout exceeded.")
        text: str = self._decoder.decode(data, final=False)
        self._log(text, "read")
        return text

    def send(self, s: str | bytes) -> int:
        data = s if isinstance(s, bytes) else self._encoder.encode(s, final=False)
        self.writer(data)
        return len(data)

    def sendline(self, s: str = "") -> int:
        return self.send(s + self.linesep)

    def isalive(self) -> bool:
        return self.inbox.ended is None
