"""Every error pytest-hil raises on purpose, in one place; all are exported from `pytest_hil`.

    HilError                      its text never shows a secret
    ├── LabError                  a lab file's mistakes, each FILE:LINE (`issues`)
    ├── SelectorError             a selector that is not well formed
    ├── DriverError               a driver could not do what it was asked
    ├── DriverUnavailable         a driver's program or library is missing here: tests skip
    ├── DriverLoadError           a driver package failed to load
    ├── ImageError                an image missing, corrupt, truncated or too large
    ├── ConsoleTimeout            a pattern did not come in time
    ├── ConsoleClosed             the console's stream ended
    ├── LoginRefused              the board refused the lab file's credentials
    ├── ShellUnreachable          no shell prompt: the board is broken for the session
    │   └── BootFailed            the console said the board cannot boot
    ├── CommandTimeout            a command outlived its timeout (interrupted)
    ├── ShellLoggedOut            a command ended the login shell (logged in again)
    ├── CommandFailed             `run_check` saw a non-zero exit status
    ├── LeaseError                a lease store that cannot be used
    ├── LeaseTimeout              a board stayed busy longer than the caller would wait
    └── LeaseLost                 a lease ended without its holder releasing it

Drivers add their own beneath `HilError` (`FrameNotSeen`, `FrameMismatch`, which are also
`AssertionError`s: a test's expectation, not the lab's fault).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_hil.secrets import mask

if TYPE_CHECKING:
    from pytest_hil.interfaces import CommandResult

#: How a message that carries the console's last lines introduces them.
CONSOLE_LINES = "; last console lines:"


class HilError(Exception):
    """Base of every error pytest-hil raises on purpose; its text never shows a secret."""

    def __str__(self) -> str:
        return mask(super().__str__())

    @property
    def headline(self) -> str:
        """The message's first line, without the console lines some messages carry after it."""
        return str(self).split("\n", 1)[0].removesuffix(CONSOLE_LINES)


@dataclass(frozen=True)
class LabIssue:
    """One mistake in a lab file, located by file, line (0: the file as a whole) and key path."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        line = f":{self.line}" if self.line else ""
        return f"{self.file}{line}: {where}{self.message}"


class LabError(HilError):
    """A lab file (or a selector) has one or more user mistakes; `issues` lists them all."""

    def __init__(self, issues: Iterable[LabIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class SelectorError(HilError):
    """A selector string is not well formed."""


class DriverError(HilError):
    """A driver could not do what it was asked; the message names board and resource."""


class DriverUnavailable(HilError):
    """A driver cannot run on this machine (its program or library is missing); tests needing it skip."""


class DriverLoadError(HilError):
    """A driver package registered through the entry points could not be loaded."""


class ImageError(HilError):
    """An image that does not exist, is corrupt or truncated, or does not fit its target or bmap."""


class ConsoleTimeout(HilError):
    """A pattern did not appear in time; the message shows what the board printed instead."""


class ConsoleClosed(HilError):
    """The stream ended (device gone, process exited) while waiting for a pattern."""


class LoginRefused(HilError):
    """The board refused the lab file's username or password."""


class ShellUnreachable(HilError):
    """No shell prompt could be reached; the board is broken for the rest of the session."""


class BootFailed(ShellUnreachable):
    """The console said the board cannot boot (a `shell.boot_failures` line): no use waiting."""


class CommandTimeout(HilError):
    """A command outlived its timeout; it was interrupted and the shell is usable again."""


class ShellLoggedOut(HilError):
    """A command ended the login shell (`exit`, `logout`, a reboot): the shell logged in again."""


class CommandFailed(HilError):
    """`run_check` saw a non-zero exit status."""

    def __init__(self, message: str, result: CommandResult) -> None:
        super().__init__(message)
        self.result = result
        self.command = result.command
        self.exit_code = result.exit_code
        self.stdout = result.stdout


class LeaseError(HilError):
    """A lease store that cannot be used (unreachable, newer schema)."""


class LeaseTimeout(HilError):
    """A board stayed busy for longer than the caller would wait."""


class LeaseLost(HilError):
    """The lease ended without this process releasing it (expired, forced, store unreachable)."""
