"""`ssh`: a board reached over SSH with paramiko: commands with exit codes, SFTP, local port forwards,
a host key checked by default (known_hosts or a fingerprint pinned in the lab file), and a fresh
connection after the board rebooted."""

from __future__ import annotations

import abc
import base64
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil_drivers.ssh.forward import LocalForward
from pytest_hil.errors import DriverError, DriverUnavailable
from pytest_hil.interfaces import CommandResult, DriverContext, OptionsT, Ssh


@dataclass(frozen=True)
class SshOptions:
    host: str = field(metadata={"help": "the board's address"})
    port: int = field(default=22, metadata={"help": "its SSH port", "min": 1, "max": 65535})
    username: str = field(default="root", metadata={"help": "login"})
    password: str | None = field(
        default=None, metadata={"help": 'password; use "${VAR}" to take it from the environment', "secret": True}
    )
    key_file: Path | None = field(default=None, metadata={"help": "private key file"})
    known_hosts: Path | None = field(default=None, metadata={"help": "known_hosts file (default: ~/.ssh/known_hosts)"})
    host_key: str | None = field(
        default=None, metadata={"help": "pinned host key fingerprint, as ssh-keygen -l prints it: SHA256:..."}
    )
    insecure_host_key: bool = field(
        default=False, metadata={"help": "accept any host key (simulated or throwaway boards only)"}
    )
    timeout: float = field(default=10.0, metadata={"help": "seconds to connect", "above": 0})
    command_timeout: float = field(default=60.0, metadata={"help": "default seconds a command may take", "above": 0})
    reconnect_timeout: float = field(
        default=60.0,
        metadata={"help": "seconds to keep trying to reconnect after the board went away (reboot)", "min": 0},
    )

    def __post_init__(self) -> None:
        if self.host_key is not None and self.insecure_host_key:
            raise ValueError(
                "insecure_host_key: accepting any host key contradicts the pinned host_key: keep one of them"
            )
        if self.host_key is not None and not self.host_key.startswith("SHA256:"):
            raise ValueError(f"host_key: {self.host_key!r} is not a fingerprint like SHA256:... (ssh-keygen -lf KEY)")


def fingerprint(key: Any) -> str:
    """`SHA256:...` as `ssh-keygen -l` prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


class SshConnection(Ssh[OptionsT]):
    """One SSH connection to the board, opened on first use and reopened when it dropped; where to
    connect comes from `endpoint()`."""

    def __init__(self, options: OptionsT, context: DriverContext) -> None:
        super().__init__(options, context)
        try:
            import paramiko
        except ImportError:
            raise DriverUnavailable(f"{context}: paramiko is not installed (pip install 'pytest-hil[ssh]')") from None
        self.paramiko = paramiko
        self.client: Any = None
        self.forwards: list[LocalForward] = []

    def __str__(self) -> str:
        endpoint = self.endpoint()
        return f"{endpoint.username}@{endpoint.host}:{endpoint.port}"

    @abc.abstractmethod
    def endpoint(self) -> SshOptions:
        """Where and how to connect now."""

    # the connection

    def _connect(self) -> Any:
        paramiko = self.paramiko
        options = self.endpoint()
        client = paramiko.SSHClient()
        if options.insecure_host_key:
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        elif options.host_key is not None:
            client.set_missing_host_key_policy(_Pinned(options.host_key, self))
        else:
            known = options.known_hosts or Path("~/.ssh/known_hosts").expanduser()
            if known.exists():
                client.load_host_keys(str(known))
            client.set_missing_host_key_policy(_Unknown(known, self))
        try:
            client.connect(
                options.host,
                options.port,
                username=options.username,
                password=str(options.password) if options.password is not None else None,
                key_filename=str(options.key_file) if options.key_file else None,
                timeout=options.timeout,
                banner_timeout=options.timeout,
                auth_timeout=options.timeout,
                allow_agent=False,
                look_for_keys=options.key_file is None and options.password is None,
            )
        except paramiko.BadHostKeyException as error:
            client.close()
            raise DriverError(
                f"{self.context}: {self}: host key mismatch: the board offers {fingerprint(error.key)}, "
                f"known_hosts says {fingerprint(error.expected_key)}"
            ) from None
        except paramiko.AuthenticationException as error:
            client.close()
            raise DriverError(
                f"{self.context}: {self}: authentication failed ({error}): check username, password, key_file"
            ) from None
        except _HostKeyRefused as error:
            client.close()
            raise DriverError(f"{self.context}: {error}") from None
        except (paramiko.SSHException, OSError, EOFError) as error:
            client.close()
            causes = getattr(error, "errors", None)  # paramiko's NoValidConnectionsError: one per address
            reason = "; ".join(f"{cause.strerror or cause}" for cause in causes.values()) if causes else error
            raise DriverError(f"{self.context}: {self}: cannot connect: {reason}") from None
        return client

    def _transport(self) -> Any:
        """A live connection: the current one, or a new one (retried while the board reboots)."""
        client = self.client
        if client is not None and client.get_transport() is not None and client.get_transport().is_active():
            return client
        self.close_connection()
        deadline = time.monotonic() + self.endpoint().reconnect_timeout
        while True:
            try:
                self.client = self._connect()
                return self.client
            except DriverError as error:
                message = str(error)
                if "cannot connect" not in message:
                    raise
                if time.monotonic() >= deadline:
                    raise DriverError(
                        f"{message} (tried for {self.endpoint().reconnect_timeout:g} s: is the board powered on, "
                        "booted and running its SSH server?)"
                    ) from None
                time.sleep(0.5)

    def close_connection(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    # the interface

    def run(self, cmd: str, timeout: float | None = None) -> CommandResult:
        """Run `cmd` in the login user's shell; stdout, stderr, exit status, duration."""
        timeout = self.endpoint().command_timeout if timeout is None else timeout
        client = self._transport()
        started = time.monotonic()
        try:
            stdin, stdout, _ = client.exec_command(cmd, timeout=timeout)
            stdin.close()
            channel = stdout.channel
            out, err = bytearray(), bytearray()
            deadline = started + timeout
            while True:  # read both streams as they come: a large output must not fill a window
                if channel.recv_ready():
                    out += channel.recv(65536)
                elif channel.recv_stderr_ready():
                    err += channel.recv_stderr(65536)
                elif (
                    (channel.eof_received or channel.closed)
                    and not channel.recv_ready()
                    and not channel.recv_stderr_ready()
                ):
                    break  # the end of the output (the exit status may come before the last of it)
                elif time.monotonic() > deadline:
                    channel.close()
                    raise DriverError(f"{self.context}: {cmd!r} did not finish within {timeout:g} s over SSH")
                else:
                    channel.status_event.wait(0.01)
            status = channel.recv_exit_status()
        except (TimeoutError, self.paramiko.SSHException, OSError, EOFError) as error:
            self.close_connection()
            raise DriverError(f"{self.context}: {cmd!r} over SSH: {error}") from None
        return CommandResult(
            cmd, out.decode(errors="replace"), status, time.monotonic() - started, err.decode(errors="replace")
        )

    def put(self, local: str | Path, remote: str) -> None:
        with self._sftp() as sftp:
            sftp.put(str(local), remote)

    def get(self, remote: str, local: str | Path) -> None:
        with self._sftp() as sftp:
            sftp.get(remote, str(local))

    def _sftp(self) -> Any:
        try:
            return self._transport().open_sftp()
        except (self.paramiko.SSHException, OSError) as error:
            raise DriverError(f"{self.context}: SFTP: {error}") from None

    def forward(self, remote_port: int, remote_host: str = "127.0.0.1") -> int:
        """Forward a free local port to `remote_host:remote_port` as the board sees it; returns the port."""
        forward = LocalForward(self._transport().get_transport(), remote_host, remote_port)
        self.forwards.append(forward)
        return forward.port

    def close(self) -> None:
        for forward in self.forwards:
            forward.close()
        self.close_connection()


class _HostKeyRefused(Exception):
    pass


class _Pinned:
    """Accept exactly the host key whose fingerprint the lab file pins."""

    def __init__(self, wanted: str, board: SshConnection) -> None:
        self.wanted, self.board = wanted, board

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        offered = fingerprint(key)
        if offered != self.wanted:
            raise _HostKeyRefused(
                f"{self.board}: host key {offered} is not the pinned {self.wanted}: refusing to connect"
            )


class _Unknown:
    """Refuse a host key known_hosts does not list, saying how to trust it."""

    def __init__(self, known: Path, board: SshConnection) -> None:
        self.known, self.board = known, board

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        raise _HostKeyRefused(
            f"{self.board}: unknown host key {fingerprint(key)} (not in {self.known}): pin it with "
            f"host_key: {fingerprint(key)} if it is the board's"
        )


class SshBoard(SshConnection[SshOptions]):
    """`ssh`: a board reached over SSH as the lab file says."""

    kind = "ssh"
    Options = SshOptions

    def endpoint(self) -> SshOptions:
        return self.options
