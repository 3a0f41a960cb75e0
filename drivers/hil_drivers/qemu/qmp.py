"""A small client for QEMU's machine protocol (QMP): JSON lines over a unix socket."""

from __future__ import annotations

import json
import socket
from typing import Any


class QmpError(RuntimeError):
    """QEMU answered a command with an error, or the connection failed."""


class Qmp:
    """One QMP connection over a connected socket, negotiated and ready for `execute`."""

    def __init__(self, sock: socket.socket, timeout: float = 10.0) -> None:
        self.sock = sock
        self.sock.settimeout(timeout)
        try:
            self.reader = self.sock.makefile("rb")
            greeting = self._read()
            if "QMP" not in greeting:
                raise QmpError(f"not a QMP greeting: {greeting!r}")
            self.execute("qmp_capabilities")
        except (OSError, ValueError) as error:
            self.sock.close()
            raise QmpError(f"QMP: {error}") from error

    def execute(self, command: str, **arguments: Any) -> Any:
        """Run `command`; its `return` value, skipping asynchronous events."""
        message: dict[str, Any] = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        try:
            self.sock.sendall(json.dumps(message).encode() + b"\n")
            while True:
                reply = self._read()
                if "return" in reply:
                    return reply["return"]
                if "error" in reply:
                    error = reply["error"]
                    raise QmpError(f"QMP {command}: {error.get('class')}: {error.get('desc')}")
        except (OSError, ValueError) as error:
            raise QmpError(f"QMP {command}: {error}") from error

    def _read(self) -> dict[str, Any]:
        line = self.reader.readline()
        if not line:
            raise QmpError("QEMU closed the QMP connection")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        self.reader.close()
        self.sock.close()
