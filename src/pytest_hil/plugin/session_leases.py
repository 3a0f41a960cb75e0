"""The leases of one pytest session: taken when a board is first needed, held (and renewed) to the
end, released with how the board fared; a wait says who holds the board and since when."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from pytest_hil.errors import LeaseLost, LeaseTimeout
from pytest_hil.leases import Grant, HeldLease, Holder, LeaseStore, Waiting, open_store
from pytest_hil.leases.handoff import handed_lease
from pytest_hil.plugin import junit
from pytest_hil.plugin.terminal import say


@dataclass
class SessionLeases:
    """The leases of one pytest session on one store."""

    store: LeaseStore
    config: pytest.Config
    timeout: float | None
    ttl: float
    holder: Holder = field(default_factory=Holder.this_process)
    held: dict[str, HeldLease] = field(default_factory=dict)
    #: Called with a board's name before the session releases it mid-run (to close its drivers).
    give_back: Callable[[str], None] = lambda board: None
    #: Board -> the token of a lease another process holds for this session (`hil shell`): used, never
    #: released here; its holder renews and ends it.
    borrowed: dict[str, str] = field(default_factory=dict)

    @classmethod
    def open(
        cls, config: pytest.Config, url: str | None, ttl: float, timeout: float | None, lab: str | None = None
    ) -> SessionLeases:
        leases = cls(open_store(url, ttl, lab), config, timeout, ttl)
        handed = handed_lease()
        if handed is not None:  # run inside `hil shell`: its lease serves this session
            board, token = handed
            leases.borrowed[board] = token
        return leases

    def hold(self, boards: Sequence[str], timeout: float | None = -1.0) -> None:
        """Lease every board of `boards` this session does not hold yet, all at once (waiting up to
        `timeout` seconds; the default: --hil-lease-timeout; 0: not at all, keeping what is held)."""
        timeout = self.timeout if timeout == -1.0 else timeout
        self._borrow(boards)
        missing = [board for board in boards if board not in self.held]
        if missing and not self._take_now([[board] for board in missing], timeout):
            self._give_back_all()  # no hold-and-wait: see `_wait_for`
            self._wait_for([[board] for board in boards], timeout)

    def hold_any(self, candidates: Sequence[str]) -> str:
        """A board of `candidates` this session holds, else the first of them that is free to lease."""
        self._borrow(candidates)
        for board in candidates:
            if board in self.held:
                return board
        taken = self._take_now([list(candidates)], self.timeout)
        if taken:
            return taken[0]
        self._give_back_all()
        return self._wait_for([list(candidates)], self.timeout)[0]

    def _borrow(self, boards: Sequence[str]) -> None:
        """Hold the boards `hil shell` leased for this session under its token, while the store says
        that lease holds (renewed here too; released by the shell)."""
        for board in boards:
            token = self.borrowed.get(board)
            if token is not None and board not in self.held and self.store.holds(token, board):
                say(self.config, f"pytest-hil: using {board} under the lease of the hil shell this session runs in")
                self.held[board] = HeldLease(self.store, Grant(token, (board,), 0.0), self.ttl)

    def _take_now(self, slots: list[list[str]], timeout: float | None) -> tuple[str, ...]:
        """The boards, if free now; () if they must be waited for. With `timeout` 0 there is no
        waiting: `LeaseTimeout` at once, and the boards held are kept."""
        try:
            return self._keep(self.store.acquire(slots, self.holder, ttl=self.ttl, timeout=0))
        except LeaseTimeout:
            if timeout is not None and timeout <= 0:
                raise
            return ()

    def _wait_for(self, slots: list[list[str]], timeout: float | None) -> tuple[str, ...]:
        """Wait in line for the boards. The session holds nothing while it waits (it gave its boards
        back), so two sessions can never wait for each other: no deadlock, whatever they ask for."""
        grant = self.store.acquire(slots, self.holder, ttl=self.ttl, timeout=timeout, on_wait=self._tell)
        return self._keep(grant)

    def _give_back_all(self) -> None:
        """Release every board held (its drivers closed first by `give_back`): about to wait."""
        for board in list(self.held):
            say(self.config, f"pytest-hil: giving {board} back while waiting (a session holds nothing while it waits)")
            self.give_back(board)
            lease = self.held.pop(board)
            if board in self.borrowed:
                lease.stop.set()  # the shell's lease: not ours to end
            elif board not in lease.lost:
                lease.release("released", None, board)

    def _keep(self, grant: Grant) -> tuple[str, ...]:
        lease = HeldLease(self.store, grant, self.ttl)
        for board in grant.boards:
            self.held[board] = lease
            junit.suite_property(self.config, f"{junit.LEASE}{board}", f"{self.holder}; waited {grant.waited:.2f} s")
        return grant.boards

    def _tell(self, waiting: Waiting) -> None:
        for info in waiting.holders:
            since = time.strftime("%H:%M:%S", time.localtime(info.since))
            ahead = f", {waiting.ahead} request(s) ahead" if waiting.ahead else ""
            say(self.config, f"pytest-hil: waiting for board {info.board}: held by {info.holder} since {since}{ahead}")
        if not waiting.holders and waiting.ahead:
            say(self.config, f"pytest-hil: waiting behind {waiting.ahead} earlier request(s)")

    def check(self, board: str) -> None:
        """Before a test: raise `LeaseLost` if this session's lease on `board` is gone (asking the
        store). The session then no longer counts the board as held: a later test leases a board
        afresh (another one if this one is taken) instead of failing too."""
        lease = self.held.get(board)
        if lease is None:
            return
        try:
            lease.confirm(board)
        except LeaseLost:
            del self.held[board]
            raise

    def release_all(self, broken: Mapping[str, str]) -> list[BaseException]:
        """Release every lease: `broken` boards with that outcome and reason, the rest as released."""
        errors: list[BaseException] = []
        for board, lease in list(self.held.items()):
            reason = broken.get(board)
            try:
                if board in self.borrowed:
                    lease.stop.set()  # the shell's lease: it ends when the shell does
                elif board not in lease.lost:
                    lease.release("broken" if reason else "released", reason, board)
            except Exception as error:
                errors.append(error)
            del self.held[board]
        self.store.close()
        return errors
