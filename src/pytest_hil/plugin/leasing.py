"""The session's board leases: taken when a board is first needed, held (and renewed) to the end,
released with how the board fared; a wait says who holds the board and since when."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from pytest_hil.board import Board
from pytest_hil.errors import LeaseError, LeaseLost, LeaseTimeout
from pytest_hil.leases import Grant, HeldLease, Holder, LeaseStore, Waiting, open_store, store_url
from pytest_hil.plugin.supply import BoardSupply
from pytest_hil.plugin.terminal import say
from pytest_hil.secrets import mask

if TYPE_CHECKING:
    from pytest_hil.plugin.selection import Plan
    from pytest_hil.plugin.session import HilSession


class LeasingSupply(BoardSupply):
    """A session that leases its boards itself, on the store named by --hil-lease-url, HIL_LEASE_URL
    or the lab file (opened at first need: a run that uses no board touches no store)."""

    def __init__(self, session: HilSession) -> None:
        self.session = session
        self.leases: SessionLeases | None = None
        #: Why the lease store cannot be used (said once; every test needing a board fails with it).
        self.store_problem: str | None = None

    def lease(self) -> SessionLeases:
        """The session's leases, the store opened at the first call."""
        if self.store_problem is not None:
            raise LeaseError(self.store_problem)
        if self.leases is None:
            session = self.session
            assert session.lab is not None
            url = store_url(session.settings.lease_url, session.lab.leases.url)
            try:
                self.leases = SessionLeases.open(
                    session.config, url, session.lab.leases.ttl, session.settings.lease_timeout, session.lab.name
                )
                self.leases.give_back = session.give_back
            except LeaseError as error:
                self.store_trouble(error)
                raise
        return self.leases

    def store_trouble(self, error: LeaseError) -> None:
        """Say once, on the terminal, that the lease store cannot be used; tests needing a board fail
        with the same line."""
        if self.store_problem is None:
            self.store_problem = str(error)
            say(self.session.config, f"pytest-hil: {self.store_problem}", red=True)

    def serving(self, item: pytest.Item, plan: Plan) -> dict[str, Board]:
        """The plan's boards for roles, else the board `pytest_hil_select_board` chose, else any free
        candidate (one already held first); leased for the session if they are not yet."""
        session = self.session
        try:
            leases = self.lease()
            if plan.roles is not None:
                leases.hold(list(plan.roles.values()))
                serving = {role: session.boards[name] for role, name in plan.roles.items()}
            else:
                candidates = [name for name in plan.candidates if name not in session.broken] or list(
                    plan.candidates[:1]
                )
                chosen = _selected_board(item, plan, session, candidates) if len(candidates) > 1 else None
                if chosen is not None:
                    leases.hold([chosen.name])
                    serving = {"board": chosen}
                else:
                    serving = {"board": session.boards[leases.hold_any(candidates)]}
            for board in serving.values():
                leases.check(board.name)
        except LeaseTimeout as error:
            problem, give_up = f"no board free: {error}", pytest.fail if session.settings.strict else pytest.skip
        except LeaseError as error:
            self.store_trouble(error)
            problem, give_up = str(error), pytest.fail
        except LeaseLost as error:
            problem, give_up = str(error), pytest.fail
        else:
            return serving
        give_up(problem, pytrace=False) if give_up is pytest.fail else give_up(problem)  # outside `except`: no chain
        raise AssertionError("unreachable")

    def release(self, broken: Mapping[str, str]) -> list[BaseException]:
        return self.leases.release_all(broken) if self.leases is not None else []


def _selected_board(item: pytest.Item, plan: Plan, session: HilSession, candidates: list[str]) -> Board | None:
    """The board `pytest_hil_select_board` chose among `candidates` (the plan's boards that are not
    broken), or None when no implementation chose."""
    choice = item.config.hook.pytest_hil_select_board(item=item, candidates=[session.boards[n] for n in candidates])
    if choice is None:
        return None
    name = choice if isinstance(choice, str) else getattr(choice, "name", None)
    if name not in plan.candidates:
        allowed = ", ".join(plan.candidates)
        raise pytest.UsageError(f"{item.nodeid}: pytest_hil_select_board returned {choice!r}, not one of {allowed}")
    return session.boards[str(name)]


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

    @classmethod
    def open(
        cls, config: pytest.Config, url: str | None, ttl: float, timeout: float | None, lab: str | None = None
    ) -> SessionLeases:
        return cls(open_store(url, ttl, lab), config, timeout, ttl)

    def hold(self, boards: Sequence[str], timeout: float | None = -1.0) -> None:
        """Lease every board of `boards` this session does not hold yet, all at once (waiting up to
        `timeout` seconds; the default: --hil-lease-timeout; 0: not at all, keeping what is held)."""
        timeout = self.timeout if timeout == -1.0 else timeout
        missing = [board for board in boards if board not in self.held]
        if missing and not self._take_now([[board] for board in missing], timeout):
            self._give_back_all()  # no hold-and-wait: see `_wait_for`
            self._wait_for([[board] for board in boards], timeout)

    def hold_any(self, candidates: Sequence[str]) -> str:
        """A board of `candidates` this session holds, else the first of them that is free to lease."""
        for board in candidates:
            if board in self.held:
                return board
        taken = self._take_now([list(candidates)], self.timeout)
        if taken:
            return taken[0]
        self._give_back_all()
        return self._wait_for([list(candidates)], self.timeout)[0]

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
            if board not in lease.lost:
                lease.release("released", None, board)

    def _keep(self, grant: Grant) -> tuple[str, ...]:
        lease = HeldLease(self.store, grant, self.ttl)
        for board in grant.boards:
            self.held[board] = lease
            _suite_property(self.config, f"hil.lease.{board}", f"{self.holder}; waited {grant.waited:.2f} s")
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
                if board not in lease.lost:
                    lease.release("broken" if reason else "released", reason, board)
            except Exception as error:
                errors.append(error)
            del self.held[board]
        self.store.close()
        return errors


#: Suite properties known before the junit writer exists (leases a --hil-dist controller takes early).
early_properties_key = pytest.StashKey[list[tuple[str, str]]]()


def _suite_property(config: pytest.Config, name: str, value: str) -> None:
    """A junit testsuite property, added when it becomes known (the fixture only works at setup)."""
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is not None:
        xml.add_global_property(name, mask(value))
    else:
        config.stash.setdefault(early_properties_key, []).append((name, mask(value)))


def add_early_properties(config: pytest.Config) -> None:
    """Hand the properties noted before the junit writer existed to it (if there is one now)."""
    from _pytest.junitxml import xml_key

    early, config.stash[early_properties_key] = config.stash.get(early_properties_key, []), []
    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    for name, value in early:
        xml.add_global_property(name, value)
