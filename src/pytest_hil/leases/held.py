"""A lease this process holds: renewed in the background, and known to be lost before the next
board action if renewal failed (the board may be someone else's by then)."""

from __future__ import annotations

import threading
import time

from pytest_hil.errors import HilError, LeaseLost
from pytest_hil.leases.store import Grant, LeaseStore
from pytest_hil.text import printable

#: Share of the TTL after which an unconfirmed lease counts as lost (the rest covers clock rates and
#: the time a test takes to start).
SAFE_SHARE = 0.9


class HeldLease:
    """Renews `grant` every ttl/3 until released; `check()` raises `LeaseLost` once it is gone."""

    def __init__(self, store: LeaseStore, grant: Grant, ttl: float) -> None:
        self.store = store
        self.grant = grant
        self.ttl = ttl
        self.boards = set(grant.boards)
        self.lost: dict[str, str] = {}
        self.stop = threading.Event()
        #: When the request that last confirmed the lease was sent (monotonic): the store set the
        #: expiry after that moment, so the lease holds at least until this + ttl.
        self.confirmed = grant.sent or time.monotonic()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._renew_loop, name="hil-lease-renewal", daemon=True)
        self.thread.start()

    def _renew_loop(self) -> None:
        while not self.stop.wait(self.ttl / 3):
            sent = time.monotonic()
            try:
                still = set(self.store.renew(self.grant.token, self.ttl))
            except Exception as error:  # the store is unreachable: the lease dies at its expiry
                if time.monotonic() - self.confirmed > self.ttl:
                    self._lose(self.boards, f"renewal failed for {self.ttl:g} s: {error}")
                continue
            if self.stop.is_set():  # released while renewing
                return
            gone = self.boards - still
            if gone:
                self._lose(gone, self._why(gone))
            with self.lock:  # the store expires a lapsed lease before renewing: what it returns held throughout
                self.confirmed = max(self.confirmed, sent)

    def confirm(self, board: str) -> None:
        """Ask the store now: raise `LeaseLost` unless the lease on `board` still holds. A forced
        release or an expiry is seen at once, not at the next background renewal."""
        self.check(board)
        try:
            held = self.store.holds(self.grant.token, board)
        except HilError:  # the store is away: the lease holds only as long as it was confirmed
            self.check(board)
            return
        if not held and board in self.boards:
            self._lose({board}, self._why({board}))
        self.check(board)

    def unconfirmed_for(self) -> float:
        """Seconds since the last renewal the store confirmed was sent."""
        return time.monotonic() - self.confirmed

    def _why(self, boards: set[str]) -> str:
        reasons = []
        for board in sorted(boards):
            ended = self.store.history(limit=1, board=board)
            if ended and ended[0].outcome == "forced":
                reasons.append(f"{board}: released by force ({printable(ended[0].reason or '')})")
            elif ended and ended[0].outcome == "expired":
                reasons.append(f"{board}: expired (not renewed within {self.ttl:g} s)")
            else:
                reasons.append(f"{board}: ended by the store")
        return "; ".join(reasons)

    def _lose(self, boards: set[str], reason: str) -> None:
        for board in boards:
            self.lost.setdefault(board, reason)
        self.boards -= boards
        if not self.boards:
            self.stop.set()  # nothing left to renew

    def check(self, board: str | None = None) -> None:
        """Raise `LeaseLost` if the lease (on `board`, or on any board) is gone, or may be: a lease
        whose last confirmation is older than the TTL may belong to someone else by now, whatever the
        renewal thread has noticed (this process was frozen, or the store was away)."""
        if self.boards and self.unconfirmed_for() > self.ttl * SAFE_SHARE:
            self._lose(
                set(self.boards),
                f"not confirmed by the store for {self.unconfirmed_for():.1f} s, over the {self.ttl:g} s TTL "
                "(this process was stopped or the store was unreachable): the board may be someone else's",
            )
        if board is not None and board in self.lost:
            raise LeaseLost(f"lease on board {board} lost: {self.lost[board]}")
        if board is None and self.lost:
            first = sorted(self.lost)[0]
            raise LeaseLost(f"lease on board {first} lost: {self.lost[first]}")

    def release(self, outcome: str = "released", reason: str | None = None, board: str | None = None) -> list[str]:
        """End the lease (or its part on `board`); the renewal stops with the last board."""
        released = self.store.release(self.grant.token, outcome, reason, board)
        self.boards -= set(released) if board is None else {board}
        if board is None or not self.boards:
            self.stop.set()
        return released
