"""Waking open pages when the lab changes: a thread sleeps on the store's change signal (PostgreSQL's
LISTEN/NOTIFY, SQLite's data_version) and looks at least every half second, so a lease that merely
expired is seen too; each change bumps a revision that the pages' event streams wait for."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from pytest_hil.errors import LeaseError
from pytest_hil.leases import LeaseStore

#: Seconds between looks when nothing signals a change (a lease expires without a signal).
LOOK_EVERY = 0.5


class Revisions:
    """The lab's revision, bumped on each change the watcher sees; awaited by event streams."""

    def __init__(self, store: LeaseStore) -> None:
        self.store = store
        self.revision = 0
        #: Set when the server stops: event streams end instead of keeping it waiting.
        self.closing = False
        self._changed = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching (from the event loop the streams run on)."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._watch, name="hil-web-watch", daemon=True)
        self._thread.start()

    def close_streams(self) -> None:
        """End every event stream (the server is stopping; browsers reconnect to the next one)."""
        self.closing = True
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._bump)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)  # it may be in a wait: it ends after it (a daemon thread)

    async def next(self, after: int, timeout: float) -> int:
        """The revision once it is past `after`, or the current one after `timeout` seconds."""
        with contextlib.suppress(TimeoutError):
            while self.revision <= after:
                changed = self._changed
                await asyncio.wait_for(changed.wait(), timeout)
        return self.revision

    def _bump(self) -> None:
        self.revision += 1
        self._changed.set()
        self._changed = asyncio.Event()

    def _watch(self) -> None:
        seen: Any = None
        backend = self.store.backend
        backend.follow_all()  # grants and queue changes too, not only what frees a board
        unreachable: tuple[type[BaseException], ...] = (LeaseError, *backend.connection_errors)
        while not self._stop.is_set():
            try:
                mark = backend.mark()
                now = _snapshot(self.store)
            except unreachable:  # pages say so when they reload; a later look finds it back
                now = "unreachable"
            if now != seen:
                if seen is not None and self._loop is not None:
                    self._loop.call_soon_threadsafe(self._bump)
                seen = now
            if now == "unreachable":
                self._stop.wait(LOOK_EVERY)
            else:
                backend.wait(mark, LOOK_EVERY)
        self.store.close()


def _snapshot(store: LeaseStore) -> Any:
    """What the pages show that can change: holders (looking ends expired leases), waiters, the newest
    ended lease (renewals, which only move an expiry on, wake nobody)."""
    holders = tuple((board, info.holder, info.since) for board, info in sorted(store.holders().items()))
    waiters = tuple((board, tuple(line)) for board, line in sorted(store.waiters().items()))
    newest = store.history(limit=1)
    return holders, waiters, (newest[0].board, newest[0].ended) if newest else None
