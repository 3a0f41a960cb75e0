"""What a lease store needs from its database: connections, one exclusive transaction at a time, the
time, and a way to sleep until another process changes something."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

#: Schema versions and the statements that bring a store from the previous version to each.
#: `{serial}` is the dialect's auto-numbered primary key.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE hil_leases (board TEXT PRIMARY KEY, token TEXT NOT NULL, holder TEXT NOT NULL,"
        " since DOUBLE PRECISION NOT NULL, expires DOUBLE PRECISION NOT NULL, waited DOUBLE PRECISION NOT NULL)",
        "CREATE TABLE hil_waiters (id {serial}, token TEXT NOT NULL, slots TEXT NOT NULL, holder TEXT NOT NULL,"
        " since DOUBLE PRECISION NOT NULL, expires DOUBLE PRECISION NOT NULL)",
        "CREATE TABLE hil_history (id {serial}, board TEXT NOT NULL, holder TEXT NOT NULL,"
        " started DOUBLE PRECISION NOT NULL, ended DOUBLE PRECISION NOT NULL, outcome TEXT NOT NULL, reason TEXT)",
        "CREATE INDEX hil_history_board ON hil_history (board, ended)",
    ),
    # the whole history newest first, a page at a time (`hil leases --history`, `hil web`)
    2: ("CREATE INDEX hil_history_ended ON hil_history (ended)",),
}
SCHEMA_VERSION = max(MIGRATIONS)


class Backend(abc.ABC):
    """One database kind. Statements use `?` placeholders; backends translate them."""

    #: The dialect's auto-numbered primary key column type.
    serial: str
    #: Errors that mean the connection is gone (retry on a new one) or that the user lacks rights.
    connection_errors: tuple[type[BaseException], ...] = ()
    permission_errors: tuple[type[BaseException], ...] = ()

    def permission_hint(self, error: BaseException) -> str:
        """What to do about a permission error, in one line."""
        return str(error).strip().splitlines()[0]

    def busy(self, error: BaseException) -> bool:
        """Whether a connection error is another process holding the store (waited out, never reported)."""
        return False

    def problem(self, error: BaseException) -> str | None:
        """A connection error that will not pass by retrying (a damaged, read-only or full store), as
        one line saying what to do; None for errors worth a retry."""
        return None

    @abc.abstractmethod
    def connect(self) -> Any:
        """A new DB-API connection, autocommit off."""

    @abc.abstractmethod
    def begin(self, connection: Any, boards: Sequence[str] | None = None) -> tuple[Any, float]:
        """Start a transaction that excludes every other writer (with `boards`: every other writer of
        those boards, if the database can lock them one by one); return a cursor in it and the time
        (`now`) once the transaction holds its locks."""

    def commit(self, connection: Any) -> None:
        """End the transaction `begin` started, keeping its changes."""
        connection.commit()

    def rollback(self, connection: Any) -> None:
        """End the transaction `begin` started, dropping its changes."""
        connection.rollback()

    @abc.abstractmethod
    def now(self, cursor: Any) -> float:
        """Seconds since the epoch, by the clock all holders share."""

    def changed(self, cursor: Any) -> None:  # noqa: B027 - SQLite needs nothing: waiters see its data_version
        """Tell waiters something changed that may free a board (called inside the transaction that
        changed it)."""

    def news(self, cursor: Any) -> None:  # noqa: B027 - as `changed`
        """Tell those who follow every change (`follow_all`) of one that frees no board: a grant, a
        request joining or leaving the queue. Waiters are not woken by it."""

    def follow_all(self) -> None:  # noqa: B027 - SQLite's data_version counts every commit anyway
        """From now on `wait` in this thread wakes on `news` too (a dashboard), not only on `changed`."""

    @abc.abstractmethod
    def mark(self) -> Any:
        """Where the store stands now; taken before a look, so `wait` misses no change after it."""

    @abc.abstractmethod
    def wait(self, mark: Any, timeout: float) -> bool:
        """Sleep until a change is committed after `mark` (True), or `timeout` seconds pass (False)."""

    @abc.abstractmethod
    def execute(self, cursor: Any, statement: str, parameters: tuple[Any, ...] = ()) -> Any:
        """Run one statement written with `?` placeholders."""

    def execute_many(self, cursor: Any, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run one statement (`?` placeholders) once per row of parameters, as few round trips as the
        database allows."""
        for row in rows:
            self.execute(cursor, statement, row)

    @abc.abstractmethod
    def describe(self) -> str:
        """Where the store is, for messages (no password)."""

    def close(self) -> None:  # noqa: B027
        """Close connections held for waiting."""
