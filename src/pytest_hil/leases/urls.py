"""Where lease stores are: the one rule for a run's or a command's store, and this user's own."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    """This user's pytest-hil state folder (the default store, `hil lease` tokens)."""
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "pytest-hil"


def default_url() -> str:
    """The embedded store: a file in the user's state folder."""
    return f"sqlite:///{state_dir() / 'leases.db'}"


def store_url(given: str | None, lab_url: str | None) -> str:
    """The one rule for which store a run or command uses: the URL given (--hil-lease-url, the ini key
    or HIL_LEASE_URL), else the lab file's `leases.url`, else this user's own store."""
    return given or lab_url or default_url()
