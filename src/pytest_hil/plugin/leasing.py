"""A session that leases its boards itself: the default `BoardSupply`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pytest

from pytest_hil.board import Board
from pytest_hil.errors import LeaseError, LeaseLost, LeaseTimeout
from pytest_hil.leases.urls import store_url
from pytest_hil.plugin.supply import BoardSupply
from pytest_hil.plugin.terminal import say

if TYPE_CHECKING:
    from pytest_hil.plugin.selection import Plan
    from pytest_hil.plugin.session import HilSession
    from pytest_hil.plugin.session_leases import SessionLeases


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
            from pytest_hil.plugin.session_leases import SessionLeases  # the lease store's code, when first needed

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
