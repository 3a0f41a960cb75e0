"""Board leases: exclusive, expiring, FIFO-queued, kept in SQLite on this host or PostgreSQL for a lab."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pytest_hil.errors import LeaseError, LeaseLost, LeaseTimeout
from pytest_hil.lazy import lazy_names
from pytest_hil.leases.urls import default_url, state_dir, store_url
from pytest_hil.secrets import redact_urls, register, url_secrets

if TYPE_CHECKING:
    from pytest_hil.leases.held import HeldLease
    from pytest_hil.leases.holder import Holder
    from pytest_hil.leases.store import Grant, HistoryEntry, LeaseInfo, LeaseStore, Waiting

#: Imported at first use: a run that touches no store (or only asks for its URL) loads none of it.
_LAZY = {
    "HeldLease": "pytest_hil.leases.held",
    "Holder": "pytest_hil.leases.holder",
    "Grant": "pytest_hil.leases.store",
    "HistoryEntry": "pytest_hil.leases.store",
    "LeaseInfo": "pytest_hil.leases.store",
    "LeaseStore": "pytest_hil.leases.store",
    "Waiting": "pytest_hil.leases.store",
}


__getattr__ = lazy_names(__name__, _LAZY)


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


def open_store(url: str | None, ttl: float = 30.0, lab: str | None = None, all_labs: bool = False) -> LeaseStore:
    """The store at `url` (`sqlite:///path`, `postgresql://...`; None: the default), schema up to date,
    seen as the lab called `lab` sees it (labs sharing a store never share a board; None: unnamed labs)."""
    from pytest_hil.leases.store import LeaseStore

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
