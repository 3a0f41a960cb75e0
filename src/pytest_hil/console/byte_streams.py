"""Byte streams a console reads: a file descriptor (pty, tty, pipe) or a socket."""

from __future__ import annotations

import abc
import errno
import os
import select
import socket


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
