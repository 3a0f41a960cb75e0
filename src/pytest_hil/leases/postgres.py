"""Leases in PostgreSQL (psycopg 3), for labs whose boards hang on several hosts: every change runs
under one transaction-scoped advisory lock, times come from the server's clock (holders' clocks may
disagree), and waiters sleep on LISTEN/NOTIFY.

A transaction runs in psycopg's pipeline mode: statements whose results are not read yet travel
together, so a lease change costs about three round trips (lock, reads, writes with the commit)
instead of one per statement; the store issues its reads before reading any of their results."""

from __future__ import annotations

import contextlib
import threading
import time
import zlib
from collections.abc import Sequence
from typing import Any

from pytest_hil.errors import LeaseError
from pytest_hil.leases.backend import Backend
from pytest_hil.secrets import redact_urls

#: Key of the advisory lock that serializes lease changes ("hil" in ASCII).
LOCK_KEY = 0x68696C
CHANNEL = "hil_leases"
#: Changes that free no board (grants, queue changes): heard by dashboards, never by waiters.
NEWS_CHANNEL = "hil_lease_news"
#: First key of the per-board advisory locks (the second: a hash of the board's stored name).
BOARD_LOCKS = 0x6862


class PostgresBackend(Backend):
    serial = "BIGSERIAL PRIMARY KEY"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise LeaseError("a postgresql:// lease store needs psycopg: pip install 'pytest-hil[postgres]'") from None
        self.psycopg = psycopg
        self.url = url
        self.local = threading.local()
        self.connection_errors = (psycopg.OperationalError, psycopg.InterfaceError)
        self.permission_errors = (psycopg.errors.InsufficientPrivilege,)

    def connect(self) -> Any:
        # autocommit: transactions are begun and ended by statements of ours, which then share round trips
        return self.psycopg.connect(self.url, autocommit=True, connect_timeout=10)

    def begin(self, connection: Any, boards: Sequence[str] | None = None) -> tuple[Any, float]:
        self.local.pipeline = connection.pipeline()
        self.local.pipeline.__enter__()
        cursor = connection.cursor()
        cursor.execute("BEGIN")
        # the time is taken once the locks are held (the subquery runs first), not while waiting for them
        if boards is None:  # the whole store
            locks, parameters = "SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY]
        else:  # the store shared with transactions on other boards, each board alone, in one order
            keys = sorted({zlib.crc32(board.encode()) - 2**31 for board in boards})
            locks = "SELECT pg_advisory_xact_lock_shared(%s)" + "".join(
                f", pg_advisory_xact_lock({BOARD_LOCKS}, %s)" for _ in keys
            )
            parameters = [LOCK_KEY, *keys]
        cursor.execute(f"SELECT extract(epoch FROM clock_timestamp()) FROM ({locks}) AS locked", parameters)
        return cursor, float(cursor.fetchone()[0])

    def commit(self, connection: Any) -> None:
        connection.execute("COMMIT")
        self._end_pipeline()  # sends what is queued and waits: errors of any statement surface here

    def rollback(self, connection: Any) -> None:
        with contextlib.suppress(Exception):
            self._end_pipeline()
        connection.execute("ROLLBACK")

    def _end_pipeline(self) -> None:
        pipeline, self.local.pipeline = getattr(self.local, "pipeline", None), None
        if pipeline is not None:
            pipeline.__exit__(None, None, None)

    def now(self, cursor: Any) -> float:
        return float(cursor.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()[0])

    def changed(self, cursor: Any) -> None:
        cursor.execute(f"NOTIFY {CHANNEL}")

    def news(self, cursor: Any) -> None:
        cursor.execute(f"NOTIFY {NEWS_CHANNEL}")

    def follow_all(self) -> None:
        self.local.channels = (CHANNEL, NEWS_CHANNEL)
        self._drop_listener()  # the next listener listens to both

    def _listener(self) -> Any:
        listener = getattr(self.local, "listener", None)
        if listener is None:
            listener = self.local.listener = self.psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            for channel in getattr(self.local, "channels", (CHANNEL,)):
                listener.execute(f"LISTEN {channel}")
        return listener

    def permission_hint(self, error: BaseException) -> str:
        user = self.psycopg.conninfo.conninfo_to_dict(self.url).get("user", "this user")
        return (
            f"user {user} may not create the lease tables ({str(error).strip().splitlines()[0]}): "
            f"GRANT CREATE ON SCHEMA public TO {user}, or run `hil leases --init` once as a user who may"
        )

    def mark(self) -> None:
        try:
            self._listener()  # listening from now on: a NOTIFY after this point is queued for `wait`
        except self.connection_errors:
            self._drop_listener()  # the database is away: `wait` sleeps, the next look reconnects

    def wait(self, mark: Any, timeout: float) -> bool:
        try:  # consumed to its end, never left early: closing it half-way can raise in odd places
            return bool(list(self._listener().notifies(timeout=timeout, stop_after=1)))
        except self.connection_errors:
            self._drop_listener()
            time.sleep(min(timeout, 0.5))
        return False

    def _drop_listener(self) -> None:
        listener, self.local.listener = getattr(self.local, "listener", None), None
        if listener is not None:
            with contextlib.suppress(Exception):
                listener.close()

    def execute(self, cursor: Any, statement: str, parameters: tuple[Any, ...] = ()) -> Any:
        return cursor.execute(statement.replace("?", "%s"), parameters)

    def execute_many(self, cursor: Any, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
        cursor.executemany(statement.replace("?", "%s"), rows)

    def describe(self) -> str:
        return redact_urls(self.url)

    def close(self) -> None:
        self._drop_listener()
