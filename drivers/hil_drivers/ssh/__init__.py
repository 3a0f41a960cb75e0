"""Boards reached over SSH, through paramiko."""

from __future__ import annotations

from collections.abc import Sequence

from hil_drivers.ssh.client import SshBoard
from pytest_hil import hookimpl
from pytest_hil.interfaces import Driver


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    return [SshBoard]
