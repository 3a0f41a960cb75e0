"""The lease store: exclusive, expiring board leases with FIFO waiting, the same on every backend.

Rules, checked inside one exclusive transaction per change:
- a board has at most one lease row; a lease past its expiry is ended as `expired` by the next
  transaction that looks, so a holder killed with SIGKILL loses its boards within the TTL;
- a request asks for one board per *slot* (each slot lists the boards that would do, best first), all
  slots at once or none; a request that cannot be granted queues as a waiter row, and a waiter may
  only take a board no earlier live waiter could use: one global order (the waiter id), so requests
  for overlapping sets never deadlock and each board's queue is FIFO;
- only the token's owner releases; `force_release` ends a lease as `forced`, with a reason, recorded.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from pytest_hil.closing import Closing
from pytest_hil.errors import LeaseError, LeaseTimeout
from pytest_hil.leases.backend import MIGRATIONS, SCHEMA_VERSION, Backend
from pytest_hil.leases.holder import Holder

#: Seconds a store held busy by other processes is waited for before that is an error.
BUSY_WAIT = 120.0
#: Outcomes after which a board is tried last by requests that could use another.
FAILED_OUTCOMES = ("broken", "expired")


@dataclass(frozen=True)
class LeaseInfo:
    """A lease as others see it."""

    board: str
    holder: Holder
    since: float
    expires: float
    waited: float


@dataclass(frozen=True)
class Grant:
    """A granted request: the token that releases it and one board per slot."""

    token: str
    boards: tuple[str, ...]
    waited: float
    #: When (time.monotonic) the request that was granted was sent: the lease runs from no earlier.
    sent: float = 0.0


@dataclass(frozen=True)
class HistoryEntry:
    board: str
    holder: Holder
    started: float
    ended: float
    outcome: str
    reason: str | None


@dataclass(frozen=True)
class Waiting:
    """What a waiting request is told each time the store changes: who holds the boards it wants."""

    holders: tuple[LeaseInfo, ...]
    ahead: int


class LeaseStore(Closing):
    """Leases on one backend; `ttl` is the default lifetime without a renewal."""

    def __init__(
        self,
        backend: Backend,
        ttl: float = 30.0,
        reconnect_for: float = 30.0,
        lab: str | None = None,
        all_labs: bool = False,
    ) -> None:
        self.backend = backend
        self.ttl = ttl
        #: Boards are stored as `<lab>/<board>` for a named lab, so labs sharing a store never collide
        #: (board names cannot hold a '/'); an unnamed lab's boards are stored by name alone. With
        #: `all_labs` the store shows every lab's boards under those stored names (`hil leases` alone).
        self.prefix = f"{lab}/" if lab else ""
        self.all_labs = all_labs
        self.reconnect_for = reconnect_for
        self.reached = False
        self.local = threading.local()
        self.migrate()

    # plumbing

    def _connection(self) -> Any:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = self.backend.connect()
        return connection

    def _drop_connection(self) -> None:
        connection, self.local.connection = getattr(self.local, "connection", None), None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def _transaction(
        self, work: Callable[[Any, float], Any], patience: float | None = None, boards: Sequence[str] | None = None
    ) -> Any:
        """Run `work(cursor, now)` in one exclusive transaction; commit, or roll back on error. With
        `boards` (stored names), the work touches only their leases: a backend that can lock boards
        one by one lets transactions on other boards run at the same time.

        A store that was reachable and drops the connection (a database restart) is reconnected and
        the work retried for `reconnect_for` seconds; one never reached fails at once. Every `work`
        can be run again: a grant that was committed before the connection broke is found by its token.
        """
        deadline = time.monotonic() + (self.reconnect_for if patience is None else patience)
        busy_deadline = time.monotonic() + BUSY_WAIT
        while True:
            try:
                connection = self._connection()
                try:
                    cursor, now = self.backend.begin(connection, boards)
                    result = work(cursor, now)
                    self.backend.commit(connection)
                except BaseException:
                    with contextlib.suppress(Exception):
                        self.backend.rollback(connection)
                    raise
                self.reached = True
                return result
            except self.backend.permission_errors as error:
                raise LeaseError(
                    f"lease store {self.backend.describe()}: {self.backend.permission_hint(error)}"
                ) from None
            except self.backend.connection_errors as error:
                self._drop_connection()
                if self.backend.busy(error) and time.monotonic() < busy_deadline:
                    time.sleep(0.05)  # another process holds the store: contention is waited out
                    continue
                problem = self.backend.problem(error)
                if problem is not None:
                    raise LeaseError(f"lease store {self.backend.describe()}: {problem}") from None
                if not self.reached or time.monotonic() >= deadline:
                    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                    raise LeaseError(f"lease store {self.backend.describe()} is unreachable: {reason}") from None
                time.sleep(0.2)

    def _run(self, cursor: Any, statement: str, *parameters: Any) -> Any:
        return self.backend.execute(cursor, statement, parameters)

    def _ask(self, cursor: Any, statement: str, *parameters: Any) -> Any:
        """Run a statement on a cursor of its own, in `cursor`'s transaction, its rows read later: the
        statements asked before any is read share one round trip (PostgreSQL's pipeline mode)."""
        return self.backend.execute(cursor.connection.cursor(), statement, parameters)

    def _key(self, board: str) -> str:
        return self.prefix + board

    def _name(self, key: str) -> str:
        return key[len(self.prefix) :]

    def _mine(self, column: str = "board") -> tuple[str, tuple[str, ...]]:
        """An SQL condition (and its parameters) selecting this lab's rows."""
        if self.all_labs:
            return f"{column} = {column}", ()
        if self.prefix:
            return f"substr({column}, 1, {len(self.prefix)}) = ?", (self.prefix,)
        return f"{column} NOT LIKE ?", ("%/%",)

    def _info(self, row: Sequence[Any]) -> LeaseInfo:
        return LeaseInfo(self._name(row[0]), Holder.from_json(row[1]), row[2], row[3], row[4])

    def _entry(self, row: Sequence[Any]) -> HistoryEntry:
        return HistoryEntry(self._name(row[0]), Holder.from_json(row[1]), row[2], row[3], row[4], row[5])

    def migrate(self) -> int:
        """Create or upgrade the schema; returns its version."""

        def work(cursor: Any, now: float) -> int:
            self._run(cursor, "CREATE TABLE IF NOT EXISTS hil_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = self._run(cursor, "SELECT value FROM hil_meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise LeaseError(
                    f"lease store {self.backend.describe()} has schema version {version}; this pytest-hil "
                    f"knows up to {SCHEMA_VERSION}: upgrade pytest-hil"
                )
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    self._run(cursor, statement.format(serial=self.backend.serial))
            if version != SCHEMA_VERSION:
                self._run(cursor, "DELETE FROM hil_meta WHERE key = 'schema_version'")
                self._run(cursor, "INSERT INTO hil_meta VALUES ('schema_version', ?)", str(SCHEMA_VERSION))
            return SCHEMA_VERSION

        return int(self._transaction(work))

    def _expire(self, cursor: Any, now: float) -> None:
        """End leases past their expiry and forget waiters that stopped renewing."""
        self._expired(cursor, now, self._ask_expire(cursor, now))

    def _ask_expire(self, cursor: Any, now: float, boards: Sequence[str] | None = None, waiters: bool = True) -> Any:
        """Delete expired leases (of `boards`, those the transaction locked; None: all) and, unless the
        caller reads the waiters anyway, expired waiters; the deleted leases are read by `_expired`."""
        only = "" if boards is None else f" AND board IN ({', '.join('?' for _ in boards)})" if boards else " AND FALSE"
        statement = f"DELETE FROM hil_leases WHERE expires < ?{only} RETURNING board, holder, since"
        gone = self._ask(cursor, statement, now, *(boards or ()))
        if waiters:
            self._run(cursor, "DELETE FROM hil_waiters WHERE expires < ?", now)
        return gone

    def _expired(self, cursor: Any, now: float, gone: Any) -> None:
        """Each lease `_ask_expire` ended goes into the history as expired."""
        expired = gone.fetchall()
        for board, holder, since in expired:
            self._history(cursor, board, holder, since, now, "expired", "the holder stopped renewing")
        if expired:
            self.backend.changed(cursor)

    def _history(
        self, cursor: Any, board: str, holder: str, since: float, now: float, outcome: str, reason: str | None
    ) -> None:
        self._run(
            cursor,
            "INSERT INTO hil_history (board, holder, started, ended, outcome, reason) VALUES (?, ?, ?, ?, ?, ?)",
            board, holder, since, now, outcome, reason,
        )  # fmt: skip

    # requests

    def acquire(
        self,
        slots: Sequence[Sequence[str]],
        holder: Holder,
        *,
        ttl: float | None = None,
        timeout: float | None = None,
        on_wait: Callable[[Waiting], None] | None = None,
    ) -> Grant:
        """One board per slot, all at once, waiting in line for busy ones; `LeaseTimeout` after
        `timeout` seconds (None: wait as long as it takes). `on_wait` hears who holds what."""
        ttl = self.ttl if ttl is None else ttl
        named, slots = slots, [[self._key(board) for board in slot] for slot in slots]
        wanted = sorted({board for slot in slots for board in slot})
        token = secrets.token_hex(16)
        started = time.monotonic()
        deadline = None if timeout is None else started + timeout
        waiter: int | None = None
        last_told: tuple[object, ...] | None = None
        waiting = Waiting((), 0)
        look = True
        looked = time.monotonic()
        keep_alive = self._waiter_life() / 3  # a waiter's row is renewed this often, whatever happens
        try:
            while True:
                mark = self.backend.mark()
                if look:
                    attempt = partial(
                        self._try, slots=slots, holder=holder, token=token, ttl=ttl, waiter=waiter, started=started
                    )
                    sent = time.monotonic()
                    result = self._transaction(attempt, boards=wanted)
                    if isinstance(result, Grant):
                        waiter = None  # the grant removed the waiter row
                        boards = tuple(self._name(board) for board in result.boards)
                        return Grant(result.token, boards, result.waited, sent)
                    waiter, waiting = result
                    looked = time.monotonic()
                    told = (*((info.board, info.holder, info.since) for info in waiting.holders), waiting.ahead)
                    if on_wait is not None and told != last_told:  # not at every renewal of the holder
                        on_wait(waiting)
                        last_told = told
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    held = "; ".join(f"{info.board} by {info.holder}" for info in waiting.holders) or "none"
                    raise LeaseTimeout(f"waited {timeout:g} s for {_describe(named)}; held: {held}")
                # Wake on the next change, or when a lease or our waiter row needs attention (then look
                # in any case: that also renews the waiter row). After a change, only a waiter that could
                # be served now takes the lock: the others do not queue up behind it.
                pause = min(ttl / 3, 1.0) if remaining is None else min(remaining, ttl / 3, 1.0)
                changed = self.backend.wait(mark, pause)
                due = time.monotonic() - looked >= keep_alive
                look = not changed or due or waiter is None or self._may_grant(waiter, slots)
        finally:
            if waiter is not None:  # gave up (a timeout, an interrupt): out of the queue
                self._transaction(partial(self._leave_queue, waiter=waiter), boards=wanted)

    def _leave_queue(self, cursor: Any, now: float, waiter: int) -> None:
        self._run(cursor, "DELETE FROM hil_waiters WHERE id = ?", waiter)
        self.backend.news(cursor)

    def _waiter_life(self) -> float:
        """How long a waiter's row lives without renewal: a dead waiter gives up its place after this."""
        return max(self.ttl, 5.0)

    def _may_grant(self, waiter: int, slots: Sequence[Sequence[str]]) -> bool:
        """Without the lock, cheaply (one statement): could the request be served now (its boards not
        leased, no earlier waiter in line for them)? Leases and waiters past their expiry still count:
        a wrong guess only costs a look under the lock, or a later one (a waiter looks at least every
        second in any case)."""
        wanted = sorted({board for slot in slots for board in slot})
        marks = ", ".join("?" for _ in wanted)
        try:
            connection = self._connection()
            rows = self._run(
                connection.cursor(),
                f"SELECT 'lease', board FROM hil_leases WHERE board IN ({marks})"
                " UNION ALL SELECT 'waiter', slots FROM hil_waiters WHERE id < ?",
                *wanted, waiter,
            ).fetchall()  # fmt: skip
            connection.rollback()
        except self.backend.connection_errors:
            self._drop_connection()
            return True  # the look under the lock reconnects, or says the store is gone
        busy = {text for kind, text in rows if kind == "lease"}
        busy |= {board for kind, text in rows if kind == "waiter" for slot in json.loads(text) for board in slot}
        return _assign(slots, [board for board in wanted if board not in busy], set()) is not None

    def _try(
        self,
        cursor: Any,
        now: float,
        slots: Sequence[Sequence[str]],
        holder: Holder,
        token: str,
        ttl: float,
        waiter: int | None,
        started: float,
    ) -> Grant | tuple[int, Waiting]:
        wanted = sorted({board for slot in slots for board in slot})
        marks = ", ".join("?" for _ in wanted)
        # every read asked before any is read: one round trip on PostgreSQL
        columns = "board, holder, since, expires, waited, token"
        lease_rows = self._ask(
            cursor, f"SELECT {columns} FROM hil_leases WHERE board IN ({marks}) OR token = ?", *wanted, token
        )
        waiter_rows = self._ask(
            cursor,
            "SELECT id, slots, expires FROM hil_waiters WHERE id < ? ORDER BY id",
            waiter if waiter is not None else 2**62,
        )
        # which boards failed last only orders a slot's candidates: a request of single boards skips it
        ordered = any(len(slot) > 1 for slot in slots)
        last_rows = self._ask_last_ended(cursor, wanted) if ordered else {}
        leases = lease_rows.fetchall()
        if any(row[3] < now for row in leases if row[0] in wanted):  # past their expiry: ended now
            self._expired(cursor, now, self._ask_expire(cursor, now, wanted, waiters=False))
            leases = [row for row in leases if row[3] >= now]
        mine = [row[0] for row in leases if row[5] == token]
        if mine:  # granted by an attempt whose commit went through as the connection broke
            return Grant(token, tuple(mine), time.monotonic() - started)
        held = {row[0]: self._info(row) for row in leases if row[0] in wanted}
        waiting_rows = waiter_rows.fetchall()
        earlier = [(row[0], row[1]) for row in waiting_rows if row[2] >= now]
        if len(earlier) < len(waiting_rows):  # waiters that stopped renewing give up their places
            self._run(cursor, "DELETE FROM hil_waiters WHERE expires < ?", now)
        queued = {board for _, text in earlier for slot in json.loads(text) for board in slot}
        failed = {board for board, last in self._read_last_ended(last_rows).items() if last.outcome in FAILED_OUTCOMES}
        free = [board for board in wanted if board not in held and board not in queued]
        choice = _assign(slots, free, failed)
        if choice is not None:
            if waiter is not None:
                self._run(cursor, "DELETE FROM hil_waiters WHERE id = ?", waiter)
            waited = time.monotonic() - started
            for board in choice:
                self._run(
                    cursor,
                    "INSERT INTO hil_leases (board, token, holder, since, expires, waited) VALUES (?, ?, ?, ?, ?, ?)",
                    board, token, holder.to_json(), now, now + ttl, waited,
                )  # fmt: skip
            self.backend.news(cursor)
            return Grant(token, tuple(choice), waited)
        expires = now + self._waiter_life()  # the store's TTL, not the requested lease's length
        if waiter is None:
            self._run(
                cursor,
                "INSERT INTO hil_waiters (token, slots, holder, since, expires) VALUES (?, ?, ?, ?, ?)",
                token, json.dumps([list(slot) for slot in slots]), holder.to_json(), now, expires,
            )  # fmt: skip
            waiter = int(self._run(cursor, "SELECT id FROM hil_waiters WHERE token = ?", token).fetchone()[0])
            self.backend.news(cursor)
        else:
            self._run(cursor, "UPDATE hil_waiters SET expires = ? WHERE id = ?", expires, waiter)
        wanted_set = set(wanted)
        ahead = sum(1 for _, text in earlier if wanted_set & {board for slot in json.loads(text) for board in slot})
        return waiter, Waiting(tuple(held[board] for board in wanted if board in held), ahead)

    def _ask_last_ended(self, cursor: Any, boards: Sequence[str]) -> dict[str, Any]:
        """Ask for each board's most recently ended lease: one index look per board
        (hil_history_board), so the cost does not grow with the history; read by `_read_last_ended`."""
        return {
            board: self._ask(
                cursor,
                "SELECT board, holder, started, ended, outcome, reason FROM hil_history WHERE board = ?"
                " ORDER BY ended DESC, id DESC LIMIT 1",
                board,
            )
            for board in boards
        }

    def _read_last_ended(self, asked: dict[str, Any]) -> dict[str, HistoryEntry]:
        found = {}
        for board, rows in asked.items():
            row = rows.fetchone()
            if row is not None:
                found[board] = HistoryEntry(row[0], Holder.from_json(row[1]), row[2], row[3], row[4], row[5])
        return found  # by key

    def last_ended(self, boards: Sequence[str]) -> dict[str, HistoryEntry]:
        """Board -> its most recently ended lease (how the last holder left it)."""
        keyed = [self._key(board) for board in boards]
        found = self._transaction(lambda cursor, now: self._read_last_ended(self._ask_last_ended(cursor, keyed)))
        return {self._name(key): replace(entry, board=self._name(key)) for key, entry in found.items()}

    def holds(self, token: str, board: str) -> bool:
        """Whether `token` holds an unexpired lease on `board` now: one read, no lock (cheap enough
        to ask before every test)."""
        try:
            connection = self._connection()
            cursor = connection.cursor()
            now = self.backend.now(cursor)
            row = self._run(
                cursor,
                "SELECT 1 FROM hil_leases WHERE board = ? AND token = ? AND expires >= ?",
                self._key(board), token, now,
            ).fetchone()  # fmt: skip
            connection.rollback()
        except self.backend.connection_errors as error:
            self._drop_connection()
            raise LeaseError(f"lease store {self.backend.describe()} is unreachable: {error}") from None
        return row is not None

    def renew(self, token: str, ttl: float | None = None, patience: float | None = None) -> list[str]:
        """Push the expiry of the token's leases on; returns the boards it still holds. A store that
        went away is retried for `patience` seconds (default: the store's `reconnect_for`)."""
        ttl = self.ttl if ttl is None else ttl

        def work(cursor: Any, now: float) -> list[str]:
            gone = self._ask_expire(cursor, now)  # a lease past its expiry is over, even if no one has looked yet
            kept = self._ask(
                cursor, "UPDATE hil_leases SET expires = ? WHERE token = ? RETURNING board", now + ttl, token
            )
            self._expired(cursor, now, gone)
            return sorted(self._name(row[0]) for row in kept.fetchall())

        return list(self._transaction(work, patience))

    def release(
        self, token: str, outcome: str = "released", reason: str | None = None, board: str | None = None
    ) -> list[str]:
        """End the token's leases (or its lease on `board`) with `outcome`; returns the boards released."""

        keys = [self._key(board)] if board else None  # a token's leases on every board: the whole store

        def work(cursor: Any, now: float) -> list[str]:
            query = "DELETE FROM hil_leases WHERE token = ?" + (" AND board = ?" if board else "")
            rows = self._run(
                cursor, query + " RETURNING board, holder, since", token, *([self._key(board)] if board else [])
            ).fetchall()
            for name, holder, since in rows:
                self._history(cursor, name, holder, since, now, outcome, reason)
            if rows:
                self.backend.changed(cursor)
            return sorted(self._name(row[0]) for row in rows)

        return list(self._transaction(work, boards=keys))

    def force_release(self, board: str, reason: str, operator: Holder) -> LeaseInfo | None:
        """End whoever's lease on `board` as `forced`, recording the operator and reason."""

        key = self._key(board)

        def work(cursor: Any, now: float) -> LeaseInfo | None:
            row = self._run(
                cursor, "SELECT board, holder, since, expires, waited FROM hil_leases WHERE board = ?", key
            ).fetchone()
            if row is None:
                return None
            self._history(cursor, key, row[1], row[2], now, "forced", f"{reason} (by {operator})")
            self._run(cursor, "DELETE FROM hil_leases WHERE board = ?", key)
            self.backend.changed(cursor)
            return self._info(row)

        result = self._transaction(work, boards=[key])
        return result if isinstance(result, LeaseInfo) else None

    # views

    def holders(self) -> dict[str, LeaseInfo]:
        """Board -> its live lease."""

        def work(cursor: Any, now: float) -> dict[str, LeaseInfo]:
            self._expire(cursor, now)
            mine, parameters = self._mine()
            rows = self._run(
                cursor,
                f"SELECT board, holder, since, expires, waited FROM hil_leases WHERE {mine} ORDER BY board",
                *parameters,
            )
            return {info.board: info for info in map(self._info, rows)}

        return dict(self._transaction(work))

    def token_of(self, board: str) -> str | None:
        """The token holding `board` (for this host's own records of `hil lease`)."""
        row = self._transaction(
            lambda cursor, now: self._run(
                cursor, "SELECT token FROM hil_leases WHERE board = ? AND expires >= ?", self._key(board), now
            ).fetchone()
        )
        return str(row[0]) if row else None

    def waiters(self) -> dict[str, list[Holder]]:
        """Board -> the holders of the live requests waiting for it, first in line first."""

        def work(cursor: Any, now: float) -> dict[str, list[Holder]]:
            found: dict[str, list[Holder]] = {}
            rows = self._run(cursor, "SELECT slots, holder FROM hil_waiters WHERE expires >= ? ORDER BY id", now)
            for text, holder in rows:
                for key in dict.fromkeys(key for slot in json.loads(text) for key in slot):
                    if self.all_labs or (key.startswith(self.prefix) and (self.prefix or "/" not in key)):
                        found.setdefault(self._name(key), []).append(Holder.from_json(holder))
            return found

        return dict(self._transaction(work))

    def queue_lengths(self) -> dict[str, int]:
        """Board -> how many live requests wait for it."""
        return {board: len(holders) for board, holders in self.waiters().items()}

    def history(
        self,
        limit: int = 100,
        board: str | None = None,
        offset: int = 0,
        holder: str | None = None,
        outcome: str | None = None,
    ) -> list[HistoryEntry]:
        """Ended leases, newest first (`offset` skips that many: pages of `limit`); only those of
        `board`, of `holder` (a user, or user@host) and ended with `outcome`, when given."""

        def work(cursor: Any, now: float) -> list[HistoryEntry]:
            where: list[str] = []
            parameters: list[Any] = []
            if board:
                where.append("board = ?")
                parameters.append(self._key(board))
            else:
                mine, mine_parameters = self._mine()
                where.append(mine)
                parameters.extend(mine_parameters)
            if holder:
                user, _, host = holder.partition("@")
                for field, value in (("user", user), ("host", host)):
                    if value:  # the holder column is JSON with sorted keys: match one field exactly
                        where.append("holder LIKE ? ESCAPE '\\'")
                        parameters.append(f"%{_like_literal(json.dumps({field: value})[1:-1])}%")
            if outcome:
                where.append("outcome = ?")
                parameters.append(outcome)
            rows = self._run(
                cursor,
                f"SELECT board, holder, started, ended, outcome, reason FROM hil_history WHERE {' AND '.join(where)}"
                " ORDER BY ended DESC, id DESC LIMIT ? OFFSET ?",
                *parameters,
                limit,
                offset,
            )
            return list(map(self._entry, rows))

        return list(self._transaction(work))

    def leased_spans(self, board: str, since: float) -> list[tuple[float, float]]:
        """(start, end) of the board's leases that ended after `since` (epoch), and of its live lease
        (ending now): what utilization is computed from."""

        def work(cursor: Any, now: float) -> list[tuple[float, float]]:
            key = self._key(board)
            statement = "SELECT started, ended FROM hil_history WHERE board = ? AND ended > ?"
            ended = self._ask(cursor, statement, key, since)
            live = self._ask(cursor, "SELECT since FROM hil_leases WHERE board = ? AND expires >= ?", key, now)
            spans = [(float(started), float(end)) for started, end in ended.fetchall()]
            spans += [(float(started), now) for (started,) in live.fetchall()]
            return spans

        return list(self._transaction(work))

    def failure_count(self, board: str) -> int:
        """How many of the board's leases ended broken or expired."""
        marks = ", ".join("?" for _ in FAILED_OUTCOMES)
        statement = f"SELECT COUNT(*) FROM hil_history WHERE board = ? AND outcome IN ({marks})"
        row = self._transaction(
            lambda cursor, now: self._run(cursor, statement, self._key(board), *FAILED_OUTCOMES).fetchone()
        )
        return int(row[0])

    def import_history(self, entries: Sequence[HistoryEntry]) -> None:
        """Add ended leases to the history as they are (moving a lab's history to another store,
        seeding a benchmark); one transaction."""

        rows = [(self._key(e.board), e.holder.to_json(), e.started, e.ended, e.outcome, e.reason) for e in entries]
        statement = "INSERT INTO hil_history (board, holder, started, ended, outcome, reason) VALUES (?, ?, ?, ?, ?, ?)"
        self._transaction(lambda cursor, now: self.backend.execute_many(cursor, statement, rows))

    def busy_seconds(self, since: float) -> dict[str, float]:
        """Board -> seconds it was leased since `since` (epoch), by ended leases: one aggregate query."""

        def work(cursor: Any, now: float) -> dict[str, float]:
            mine, parameters = self._mine()
            rows = self._run(
                cursor,
                "SELECT board, SUM(ended - CASE WHEN started > ? THEN started ELSE ? END) FROM hil_history"
                f" WHERE ended > ? AND {mine} GROUP BY board",
                since, since, since, *parameters,
            )  # fmt: skip
            return {self._name(board): float(total) for board, total in rows}

        return dict(self._transaction(work))

    def close(self) -> None:
        """Close this thread's connection and the backend's waiting connection; again: nothing more."""
        connection = getattr(self.local, "connection", None)
        if connection is not None:
            connection.close()
            self.local.connection = None
        self.backend.close()


def _assign(slots: Sequence[Sequence[str]], free: Sequence[str], failed: set[str]) -> list[str] | None:
    """One distinct free board per slot (boards that failed last tried last), or None."""
    ordered = [
        [b for b in slot if b in free and b not in failed] + [b for b in slot if b in free and b in failed]
        for slot in slots
    ]

    def search(index: int, taken: list[str]) -> list[str] | None:
        if index == len(ordered):
            return taken
        for board in ordered[index]:
            if board not in taken:
                found = search(index + 1, [*taken, board])
                if found is not None:
                    return found
        return None

    return search(0, [])


def _like_literal(text: str) -> str:
    """`text` matched literally by LIKE ... ESCAPE '\\'."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _describe(slots: Sequence[Sequence[str]]) -> str:
    return " + ".join(slot[0] if len(slot) == 1 else "one of " + ", ".join(slot) for slot in slots)
