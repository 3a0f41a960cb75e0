"""Board leases: exclusive, expiring, FIFO-queued, kept in SQLite on this host or PostgreSQL for a lab."""

from __future__ import annotations

import os
from pathlib import Path

from pytest_hil.errors import LeaseError, LeaseLost, LeaseTimeout
from pytest_hil.leases.held import HeldLease
from pytest_hil.leases.holder import Holder
from pytest_hil.leases.store import Grant, HistoryEntry, LeaseInfo, LeaseStore, Waiting
from pytest_hil.secrets import redact_urls, register, url_secrets

__all__ = [
    "Grant",
    "HeldLease",
    "HistoryEntry",
    "Holder",
    "LeaseError",
    "LeaseInfo",
    "LeaseLost",
    "LeaseStore",
    "LeaseTimeout",
    "Waiting",
    "default_url",
    "open_store",
    "state_dir",
    "store_url",
]


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


def open_store(url: str | None, ttl: float = 30.0, lab: str | None = None, all_labs: bool = False) -> LeaseStore:
    """The store at `url` (`sqlite:///path`, `postgresql://...`; None: the default), schema up to date,
    seen as the lab called `lab` sees it (labs sharing a store never share a board; None: unnamed labs)."""
    url = url or default_url()
    register(*url_secrets(url))  # the store's password is masked wherever the URL may show up
    if url.startswith("sqlite://"):
        from pytest_hil.leases.sqlite import SqliteBackend

        path = url.removeprefix("sqlite://")
        return LeaseStore(SqliteBackend(Path(path).expanduser()), ttl, lab=lab, all_labs=all_labs)
    if url.startswith(("postgresql://", "postgres://")):
        from pytest_hil.leases.postgres import PostgresBackend

        return LeaseStore(PostgresBackend(url), ttl, lab=lab, all_labs=all_labs)
    raise LeaseError(f"lease store URL {redact_urls(url)!r}: use sqlite:///PATH or postgresql://USER@HOST/DB")
