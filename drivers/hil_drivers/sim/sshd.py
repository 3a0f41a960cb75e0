"""The simulated board's SSH server (paramiko's server side): password login, commands run by
`/bin/sh -c` in the board's home with its environment, and SFTP. Up while the board is powered."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from functools import cache
from pathlib import Path
from typing import Any

import paramiko


@cache
def host_key() -> paramiko.RSAKey:
    """One host key per process: generating one costs a fraction of a second."""
    return paramiko.RSAKey.generate(2048)


class _Login(paramiko.ServerInterface):  # type: ignore[misc] # paramiko is untyped
    def __init__(self, username: str, password: str | None, run: Any, home: str) -> None:
        self.username, self.password, self.run, self.home = username, password, run, home

    def get_allowed_auths(self, username: str) -> str:
        return "password" if self.password is not None else "none"

    def check_auth_none(self, username: str) -> int:
        ok = self.password is None and username == self.username
        return int(paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED)

    def check_auth_password(self, username: str, password: str) -> int:
        ok = username == self.username and password == self.password
        return int(paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED)

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return int(paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED)

    def check_channel_exec_request(self, channel: Any, command: bytes) -> bool:
        threading.Thread(target=self.run, args=(channel, command.decode()), daemon=True).start()
        return True


class _Files(paramiko.SFTPServerInterface):  # type: ignore[misc]
    """SFTP on this machine's files: the simulated board's filesystem is the host's; relative paths
    are relative to the login's home, as with sshd."""

    def __init__(self, server: _Login, *args: Any) -> None:
        super().__init__(server, *args)
        self.home = server.home

    def _path(self, path: str) -> str:
        return os.path.join(self.home, path) if not os.path.isabs(path) else path

    def canonicalize(self, path: str) -> str:
        return os.path.normpath(self._path(path or "."))

    def list_folder(self, path: str) -> Any:
        path = self._path(path)
        try:
            return [
                paramiko.SFTPAttributes.from_stat(os.stat(os.path.join(path, name)), name) for name in os.listdir(path)
            ]
        except OSError as error:
            return paramiko.SFTPServer.convert_errno(error.errno)

    def stat(self, path: str) -> Any:
        path = self._path(path)
        try:
            return paramiko.SFTPAttributes.from_stat(os.stat(path))
        except OSError as error:
            return paramiko.SFTPServer.convert_errno(error.errno)

    lstat = stat

    def open(self, path: str, flags: int, attr: Any) -> Any:
        path = self._path(path)
        try:
            fd = os.open(path, flags, 0o644)
            mode = "rb" if flags & (os.O_WRONLY | os.O_RDWR) == 0 else ("r+b" if flags & os.O_RDWR else "wb")
            handle = paramiko.SFTPHandle(flags)
            handle.readfile = handle.writefile = os.fdopen(fd, mode)
            return handle
        except OSError as error:
            return paramiko.SFTPServer.convert_errno(error.errno)

    def remove(self, path: str) -> int:
        path = self._path(path)
        try:
            os.remove(path)
        except OSError as error:
            return int(paramiko.SFTPServer.convert_errno(error.errno))
        return int(paramiko.SFTP_OK)


class SimSshServer:
    """Listens on 127.0.0.1:`port` (0: a free one, see `.port`) until `stop()`."""

    def __init__(self, port: int, username: str, password: str | None, home: str, environment: dict[str, str]) -> None:
        self.username, self.password, self.home, self.environment = username, password, home, environment
        self.listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.port: int = self.listener.getsockname()[1]
        self.transports: list[paramiko.Transport] = []
        self.stopping = threading.Event()
        threading.Thread(target=self._accept, name=f"sim-sshd-{port}", daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(connection)
            transport.add_server_key(host_key())
            transport.set_subsystem_handler("sftp", paramiko.SFTPServer, _Files)
            self.transports.append(transport)
            try:
                transport.start_server(server=_Login(self.username, self.password, self._run, self.home))
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()

    def _run(self, channel: Any, command: str) -> None:
        with channel:
            process = subprocess.Popen(
                ["/bin/sh", "-c", command],
                cwd=self.home,
                env=self.environment,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            out, err = process.stdout.fileno(), process.stderr.fileno()  # type: ignore[union-attr]
            errors = threading.Thread(target=lambda: _copy(err, channel.sendall_stderr), daemon=True)
            errors.start()
            _copy(out, channel.sendall)
            errors.join()
            channel.send_exit_status(process.wait())

    def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it: the port is free again
        self.listener.close()
        for transport in self.transports:
            transport.close()


def _copy(fd: int, send: Any) -> None:
    while chunk := os.read(fd, 65536):
        send(chunk)


def shell_environment(home: str, username: str, screen: Path) -> dict[str, str]:
    """What a command run over SSH sees: the same as the console's login shell."""
    return {
        "HOME": home,
        "USER": username,
        "LOGNAME": username,
        "SHELL": "/bin/sh",
        "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "HIL_SCREEN": str(screen),
    }
