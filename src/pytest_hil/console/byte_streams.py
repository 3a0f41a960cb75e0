"""Byte streams a console reads: a file descriptor (pty, tty, pipe) or a socket."""

from __future__ import annotations

import abc
import errno
import os
import select
import socket
import time


class StreamLost(EOFError):
    """The stream ended: device gone, peer closed, process exited."""


class ByteStream(abc.ABC):
    """What a console needs of a transport: timed reads, writes, close."""

    @abc.abstractmethod
    def read(self, size: int, timeout: float) -> bytes:
        """Up to `size` bytes as soon as any arrive; b"" after `timeout` seconds; `StreamLost` at the end."""

    @abc.abstractmethod
    def write(self, data: bytes) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...


class FdStream(ByteStream):
    """A readable, writable file descriptor the stream owns (closed with it)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def read(self, size: int, timeout: float) -> bytes:
        try:
            ready, _, _ = select.select([self.fd], [], [], timeout)
        except (OSError, ValueError) as error:
            raise StreamLost(str(error)) from None
        if not ready:
            return b""
        try:
            data = os.read(self.fd, size)
        except OSError as error:
            if error.errno == errno.EAGAIN:
                return b""
            raise StreamLost(os.strerror(error.errno or 0)) from None  # EIO: the other end of a pty closed
        if not data:
            raise StreamLost("end of file")
        return data

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.fd, view)
            except BlockingIOError:
                select.select([], [self.fd], [], 1.0)
                continue
            except OSError as error:
                raise StreamLost(os.strerror(error.errno or 0)) from None
            view = view[written:]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class SocketStream(ByteStream):
    """A connected stream socket (QEMU's chardev socket, a TCP serial server)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def read(self, size: int, timeout: float) -> bytes:
        try:
            ready, _, _ = select.select([self.sock], [], [], timeout)
            if not ready:
                return b""
            data = self.sock.recv(size)
        except (OSError, ValueError) as error:
            raise StreamLost(str(error)) from None
        if not data:
            raise StreamLost("connection closed by the other end")
        return data

    def write(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as error:
            raise StreamLost(str(error)) from None

    def close(self) -> None:
        self.sock.close()


class UartStream(ByteStream):
    """`inner` as if behind a UART at `baud` (8N1: baud/10 bytes a second each way), for tests and
    benchmarks of what a real serial line costs: what the board sends becomes readable no faster than
    the line carries it (bytes queue up as in the UART's buffer), and a write returns once the line
    has carried it."""

    def __init__(self, inner: ByteStream, baud: int) -> None:
        self.inner = inner
        self.byte_time = 10.0 / baud
        #: Received chunks not yet delivered: (when their first byte is through the line, bytes).
        self.queue: list[tuple[float, bytes]] = []
        self.rx_free = 0.0  # when the receiving line has carried everything queued
        self.tx_free = 0.0  # when the sending line has carried everything written

    def _receive(self, data: bytes) -> None:
        start = max(time.monotonic(), self.rx_free)
        self.queue.append((start, data))
        self.rx_free = start + len(data) * self.byte_time

    def _ready(self, size: int) -> bytes:
        """The queued bytes the line has carried by now, up to `size`."""
        now, out = time.monotonic(), bytearray()
        while self.queue and len(out) < size:
            start, data = self.queue[0]
            carried = min(int((now - start) / self.byte_time), len(data), size - len(out))
            if carried <= 0:
                break
            out += data[:carried]
            if carried == len(data):
                self.queue.pop(0)
            else:
                self.queue[0] = (start + carried * self.byte_time, data[carried:])
        return bytes(out)

    def read(self, size: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            data = self.inner.read(65536, 0)
            if data:
                self._receive(data)
            ready = self._ready(size)
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0:
                return ready
            if self.queue:  # the next byte is on the line: sleep until it is through
                time.sleep(min(max(self.queue[0][0] + self.byte_time - time.monotonic(), 0), remaining))
            else:
                data = self.inner.read(65536, remaining)
                if data:
                    self._receive(data)

    def write(self, data: bytes) -> None:
        start = max(time.monotonic(), self.tx_free)
        self.tx_free = start + len(data) * self.byte_time
        time.sleep(max(self.tx_free - time.monotonic(), 0))
        self.inner.write(data)

    def close(self) -> None:
        self.inner.close()
