"""The parsed lab: what is wired where, with no driver created yet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_hil.errors import LabIssue
from pytest_hil.interfaces import Driver
from pytest_hil.lab.selector import Selector
from pytest_hil.secrets import MASK, Secret, shown


@dataclass(frozen=True)
class ResourceSpec:
    """One resource of a board: a driver kind, its checked options and the interfaces it offers."""

    name: str
    kind: str
    driver: type[Driver]
    #: An instance of `driver.Options` (each driver declares its own dataclass).
    options: object
    raw_options: Mapping[str, Any] = field(repr=False)
    interfaces: tuple[str, ...]
    line: int

    def shown_options(self) -> dict[str, Any]:
        """The options as written, with secrets masked."""
        return {key: self._shown_option(key, value) for key, value in self.raw_options.items()}

    def _shown_option(self, key: str, value: Any) -> Any:
        checked = getattr(self.options, key, None)
        if isinstance(checked, Secret) and checked == value:
            return MASK if checked.parts == (str(checked),) else checked.shown()
        return shown(value)


@dataclass(frozen=True)
class ShellSpec:
    """How to reach a logged-in shell on a board's console."""

    console: str = "console"
    username: str | None = None
    password: str | None = field(default=None, metadata={"secret": True})
    prompt: str = r"[#$] "
    login_prompt: str = r"(?<![Ll]ast )login: "  # not the "Last login: ..." line after a login
    password_prompt: str = r"[Pp]assword: ?"
    boot_timeout: float = field(default=120.0, metadata={"above": 0, "max": 86400})
    #: After login, `dmesg -n 1`: kernel messages stop interrupting the console (and command output);
    #: they stay in the kernel's log (`dmesg`). False keeps them on the console and in its log.
    quiet_kernel: bool = True
    #: Lines that say the board cannot boot: reaching the shell fails at once with the line.
    boot_failures: list[str] = field(
        default_factory=lambda: [r"Kernel panic - not syncing.*", r"MMC: no bootable image.*", r"No bootable device.*"]
    )
    command_timeout: float = field(default=30.0, metadata={"above": 0, "max": 86400})


@dataclass(frozen=True)
class BoardSpec:
    """A board as the lab file declares it."""

    name: str
    labels: Mapping[str, str]
    resources: Mapping[str, ResourceSpec]
    host: str | None = None
    shell: ShellSpec | None = None
    line: int = 1

    def resource_for(self, name: str) -> ResourceSpec | list[ResourceSpec] | None:
        """The resource a fixture called `name` gives: by name, else the one implementing that interface.

        Returns a list when several resources implement the interface and none is called `name`.
        """
        if name in self.resources:
            return self.resources[name]
        offering = [spec for spec in self.resources.values() if name in spec.interfaces]
        if len(offering) == 1:
            return offering[0]
        return offering or None

    def shell_console(self) -> str | None:
        """The resource the shell runs on: `shell.console`, else the board's one console."""
        if self.shell is not None:
            return self.shell.console
        found = self.resource_for("console")
        return found.name if isinstance(found, ResourceSpec) else None


@dataclass(frozen=True)
class LeaseSettings:
    """Where leases are kept and how long one lives without a heartbeat."""

    url: str | None = field(default=None, metadata={"schemes": ("sqlite", "postgresql", "postgres")})
    ttl: float = field(default=30.0, metadata={"above": 0, "max": 86400})


@dataclass(frozen=True)
class RemoteSettings:
    """How `--hil-dist` starts workers on the lab hosts named by boards' `host:` (over SSH)."""

    python: str = field(default="python3", metadata={"help": "python on the lab hosts, with pytest-hil installed"})
    chdir: str | None = field(default=None, metadata={"help": "the test tree on the lab hosts (absolute path)"})
    ssh_config: Path | None = field(default=None, metadata={"help": "ssh_config file for reaching the lab hosts"})


@dataclass(frozen=True)
class Lab:
    """A whole lab file."""

    path: Path
    version: int
    boards: Mapping[str, BoardSpec]
    name: str | None = None
    leases: LeaseSettings = field(default_factory=LeaseSettings)
    selectors: Mapping[str, Selector] = field(default_factory=dict)
    remote: RemoteSettings = field(default_factory=RemoteSettings)
    sha256: str = ""
    #: Every secret of the lab (see `pytest_hil.secrets`): masked in logs and reports.
    secrets: frozenset[str] = frozenset()
    #: Things that work but deserve a word (a secret too short to mask in text), as `hil check` shows them.
    warnings: tuple[LabIssue, ...] = ()

    @property
    def resource_names(self) -> list[str]:
        """Every resource name used by any board, in first-seen order."""
        names: dict[str, None] = {}
        for board in self.boards.values():
            names.update(dict.fromkeys(board.resources))
        return list(names)
