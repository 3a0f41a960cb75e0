"""The error types users can catch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pytest_hil.secrets import mask


class HilError(Exception):
    """Base of every error pytest-hil raises on purpose; its text never shows a secret."""

    def __str__(self) -> str:
        return mask(super().__str__())


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
