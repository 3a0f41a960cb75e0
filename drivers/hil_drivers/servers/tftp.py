"""`tftp-server`: files for bootloaders to fetch over TFTP (RFC 1350), read-only, with the options
U-Boot and Linux clients ask for: blksize (RFC 2348), timeout and tsize (RFC 2349, negotiated with an
OACK as RFC 2347 says), and windowsize (RFC 7440). Each transfer runs on a port and thread of its
own, so several boards can fetch at once; a block that is not acknowledged in time is sent again.

Only files under the root are served: `..`, symlinks that lead out and names that are not files are
"File not found"; a leading `/` means the root. Write requests are refused. Every transfer is a line in
the board's console logs.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from hil_drivers.servers.folder import FolderServing, ServedFolder
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext, FileServer

RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6
NOT_FOUND, ACCESS_VIOLATION, ILLEGAL, OPTION_REFUSED = 1, 2, 4, 8
DEFAULT_BLOCK = 512
LIMITS = {"blksize": (8, 65464), "timeout": (1, 255), "windowsize": (1, 65535)}


@dataclass(frozen=True)
class TftpServerOptions:
    root: Path | None = field(default=None, metadata={"help": "the folder served (default: one of the session's own)"})
    host: str = field(default="0.0.0.0", metadata={"help": "address to listen on"})
    port: int = field(
        default=69, metadata={"help": "UDP port (69: what U-Boot asks; 0: a free one)", "min": 0, "max": 65535}
    )
    timeout: float = field(default=1.0, metadata={"help": "seconds before a block is sent again", "above": 0})
    retries: int = field(default=5, metadata={"help": "times a block is sent again before giving up", "min": 0})


class TftpServer(FolderServing, FileServer[TftpServerOptions]):
    """A read-only TFTP server: `put(path, name=None) -> name` for a bootloader's `tftpboot`."""

    kind = "tftp-server"
    Options = TftpServerOptions

    def __init__(self, options: TftpServerOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.folder = ServedFolder(options.root, context, "tftp")
        self.sock: socket.socket | None = None
        self.listener: threading.Thread | None = None
        self.stop = threading.Event()
        self.lock = threading.Lock()

    @property
    def address(self) -> str:
        """`HOST:PORT` the server listens on (it starts if it has not yet)."""
        sock = self._start()
        host, port = sock.getsockname()[:2]
        return f"{host}:{port}"

    @property
    def port(self) -> int:
        return int(self._start().getsockname()[1])

    def put(self, path: str | Path, name: str | None = None) -> str:
        """Serve the file at `path` as `name` (default: its own name); the name to ask for."""
        source = Path(path)
        placed = self.folder.place(source, name or source.name)
        self._start()
        return placed

    def _start(self) -> socket.socket:
        with self.lock:
            if self.sock is None:
                self.root.mkdir(parents=True, exist_ok=True)
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    sock.bind((self.options.host, self.options.port))
                except OSError as error:
                    sock.close()
                    where = f"{self.options.host}:{self.options.port}"
                    hint = (
                        ": ports below 1024 need root, CAP_NET_BIND_SERVICE (setcap 'cap_net_bind_service=+ep' on"
                        " the python), or a lower net.ipv4.ip_unprivileged_port_start"
                        if error.errno == 13
                        else ""
                    )
                    raise DriverError(f"{self.context}: cannot listen on UDP {where}: {error.strerror}{hint}") from None
                sock.settimeout(0.2)
                self.sock = sock
                self.listener = threading.Thread(
                    target=self._serve, args=(sock,), name=f"hil tftp {self.context}", daemon=True
                )
                self.listener.start()
                self.context.logs.note(f"[hil] tftp-server serving {self.root} on UDP {sock.getsockname()[1]}")
            return self.sock

    def _serve(self, sock: socket.socket) -> None:
        while not self.stop.is_set():
            try:
                packet, client = sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._request, args=(packet, client), daemon=True).start()

    def _request(self, packet: bytes, client: tuple[str, int]) -> None:
        """One request, answered from a port of its own (RFC 1350's transfer identifier)."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((self.options.host if self.options.host != "0.0.0.0" else "", 0))
            sock.connect(client)
            opcode = struct.unpack("!H", packet[:2])[0] if len(packet) >= 2 else 0
            if opcode == WRQ:
                _error(sock, ACCESS_VIOLATION, "read-only server")
                self._note(client, "write request refused")
                return
            if opcode != RRQ:
                _error(sock, ILLEGAL, "illegal TFTP operation")
                return
            fields = packet[2:].split(b"\0")
            if len(fields) < 2:
                _error(sock, ILLEGAL, "malformed request")
                return
            name = fields[0].decode("utf-8", "replace")
            asked = {
                fields[index].decode().lower(): fields[index + 1].decode()
                for index in range(2, len(fields) - 1, 2)
                if fields[index]
            }
            path = self._file(name)
            if path is None:
                _error(sock, NOT_FOUND, "File not found")
                self._note(client, f"{name}: not found")
                return
            self._send(sock, client, name, path, asked)

    def _file(self, name: str) -> Path | None:
        top = self.root.resolve()
        try:
            path = (top / name.lstrip("/")).resolve()
        except (OSError, ValueError):
            return None
        return path if path.is_relative_to(top) and path.is_file() else None

    def _send(self, sock: socket.socket, client: tuple[str, int], name: str, path: Path, asked: dict[str, str]) -> None:
        size = path.stat().st_size
        accepted: dict[str, str] = {}
        block_size, window, timeout = DEFAULT_BLOCK, 1, self.options.timeout
        for option, (low, high) in LIMITS.items():
            if option in asked and asked[option].isdigit():
                value = min(max(int(asked[option]), low), high)
                accepted[option] = str(value)
        if "tsize" in asked:
            accepted["tsize"] = str(size)
        block_size = int(accepted.get("blksize", block_size))
        window = int(accepted.get("windowsize", window))
        timeout = float(accepted.get("timeout", timeout))
        started = time.monotonic()
        if accepted:  # RFC 2347: the options the server takes, then the client's ACK 0
            oack = struct.pack("!H", OACK) + b"".join(f"{key}\0{value}\0".encode() for key, value in accepted.items())
            if not self._exchange(sock, oack, 0, timeout):
                self._note(client, f"{name}: the client did not take the options")
                return
        with path.open("rb") as source:
            done = self._blocks(sock, source, size, block_size, window, timeout, name)
        took = time.monotonic() - started
        rate = size / took / 1e6 if took else 0.0
        outcome = (
            f"{size} bytes in {took:.2f} s ({rate:.1f} MB/s)" if done else "abandoned: the client stopped answering"
        )
        self._note(client, f"{name}: {outcome}")

    def _exchange(self, sock: socket.socket, packet: bytes, expected: int, timeout: float) -> bool:
        """Send `packet` until ACK `expected` comes back (retries); False if it never does."""
        for _ in range(self.options.retries + 1):
            sock.send(packet)
            for opcode, number in _answers(sock, timeout):
                if opcode == ERROR:
                    return False
                if opcode == ACK and number == expected:
                    return True
        return False

    def _blocks(
        self, sock: socket.socket, source: BinaryIO, size: int, block_size: int, window: int, timeout: float, name: str
    ) -> bool:
        """Send the file in blocks, `window` at a time (RFC 7440), each window until its last block is
        acknowledged; block numbers roll over after 65535."""
        total = size // block_size + 1  # a last block shorter than block_size (empty when size divides)
        acked = 0  # blocks acknowledged so far
        retries = 0
        while acked < total:
            first = acked + 1
            last = min(acked + window, total)
            for number in range(first, last + 1):
                source.seek((number - 1) * block_size)
                data = source.read(block_size)
                sock.send(struct.pack("!HH", DATA, number & 0xFFFF) + data)
            progressed = False
            for opcode, number in _answers(sock, timeout):
                if opcode == ERROR:
                    return False
                if opcode != ACK:
                    continue
                # the acknowledged block, in the window just sent (numbers as 16 bits)
                reached = next((n for n in range(first, last + 1) if n & 0xFFFF == number), None)
                if reached is not None and reached > acked:
                    self.folder.count(name, min(reached * block_size, size) - min(acked * block_size, size))
                    acked = reached
                    progressed = True
                    if acked == last:
                        break
            if progressed:
                retries = 0
            else:
                retries += 1
                if retries > self.options.retries:
                    return False
        return True

    def _note(self, client: tuple[str, int], text: str) -> None:
        self.context.logs.note(f"[hil] tftp {client[0]}: {text}")

    def close(self) -> None:
        """Stop listening: the port is free when this returns (the listener has let go of it)."""
        self.stop.set()
        if self.listener is not None:
            self.listener.join()
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()
        self.folder.remove()


def _answers(sock: socket.socket, timeout: float) -> Iterator[tuple[int, int]]:
    """(opcode, block number) of each packet the client sends within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        sock.settimeout(remaining)
        try:
            answer = sock.recv(65536)
        except (TimeoutError, ConnectionRefusedError):
            return
        yield _ack(answer)


def _ack(packet: bytes) -> tuple[int, int]:
    if len(packet) < 4:
        return 0, -1
    opcode, number = struct.unpack("!HH", packet[:4])
    return opcode, number


def _error(sock: socket.socket, code: int, message: str) -> None:
    with contextlib.suppress(OSError):
        sock.send(struct.pack("!HH", ERROR, code) + message.encode() + b"\0")
