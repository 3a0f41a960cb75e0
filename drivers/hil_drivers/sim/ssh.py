"""`sim-ssh`: the simulated board's SSH server, wherever it listens (a free port chosen at power-on),
with its host key pinned: the ssh driver's behaviour without a port or host key to write down."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from hil_drivers.sim.hardware import SimBoardHardware, attach, detach
from hil_drivers.ssh.client import SshConnection, SshOptions, fingerprint
from pytest_hil import hookimpl
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import Driver, DriverContext


@dataclass(frozen=True)
class SimSshOptions:
    board: str | None = field(default=None, metadata={"help": "the simulated board (default: this board)"})
    username: str = field(default="root", metadata={"help": "login"})
    timeout: float = field(default=10.0, metadata={"help": "seconds to connect", "above": 0})
    command_timeout: float = field(default=60.0, metadata={"help": "default seconds a command may take", "above": 0})
    reconnect_timeout: float = field(
        default=10.0, metadata={"help": "seconds to keep trying while the board reboots", "min": 0}
    )


class SimSsh(SshConnection[SimSshOptions]):
    """SSH to the simulated board: its port and host key come from the board itself."""

    kind = "sim-ssh"
    Options = SimSshOptions

    def __init__(self, options: SimSshOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.hardware: SimBoardHardware = attach(options.board or context.board)

    def endpoint(self) -> SshOptions:
        from hil_drivers.sim.sshd import host_key

        server = self.hardware.sshd
        if server is None:
            state = "off" if not self.hardware.powered else "on, but runs no SSH server (sim-power ssh: true)"
            raise DriverError(f"{self.context}: the simulated board {self.hardware.ident} is {state}")
        options = self.options
        return SshOptions(
            host="127.0.0.1",
            port=server.port,
            username=options.username,
            password=server.password,
            host_key=fingerprint(host_key()),
            timeout=options.timeout,
            command_timeout=options.command_timeout,
            reconnect_timeout=options.reconnect_timeout,
        )

    def __str__(self) -> str:
        server = self.hardware.sshd
        return f"{self.options.username}@127.0.0.1:{server.port if server else '(off)'}"

    def close(self) -> None:
        super().close()
        detach(self.hardware)


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    """`SimSsh` alone: the entry point of its kind names this module."""
    return [SimSsh]
