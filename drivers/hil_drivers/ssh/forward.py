"""A local port forward over an SSH connection: connections to 127.0.0.1:<local port> reach
<host>:<port> as seen from the board."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from typing import Any


class LocalForward:
    """Listens on a free loopback port; each connection becomes a direct-tcpip channel."""

    def __init__(self, transport: Any, remote_host: str, remote_port: int) -> None:
        self.transport = transport
        self.remote = (remote_host, remote_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.closed = threading.Event()
        threading.Thread(target=self._accept, name=f"ssh-forward-{self.port}", daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, peer = self.listener.accept()
            except OSError:
                return
            try:
                channel = self.transport.open_channel("direct-tcpip", self.remote, peer, timeout=10)
            except Exception:  # the board refused: drop this connection, keep listening
                client.close()
                continue
            threading.Thread(target=self._pipe, args=(client, channel), daemon=True).start()

    def _pipe(self, client: socket.socket, channel: Any) -> None:
        with client, channel:
            while not self.closed.is_set():
                ready, _, _ = select.select([client, channel], [], [], 0.5)
                if client in ready:
                    data = client.recv(65536)
                    if not data:
                        return
                    channel.sendall(data)
                if channel in ready:
                    data = channel.recv(65536)
                    if not data:
                        return
                    client.sendall(data)

    def close(self) -> None:
        self.closed.set()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
        self.listener.close()
