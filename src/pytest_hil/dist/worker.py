"""The worker side of `--hil-dist`: the board this worker was given, and what it sends back.

The controller holds every lease; a worker serves its tests with the one board named in its
`workerinput` (roles tests, which run last on one worker, with the boards their plan names).

xdist's worker always holds the next test before it runs the current one, and cannot give it back.
So a worker whose board broke does not skip the tests it still holds: it closes its drivers and leaves
before running the next board test. xdist then takes that worker down (and starts a replacement, which
gets no tests); the scheduler puts every test the worker held back in the queue for workers whose
boards work.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_hil.board import Board
from pytest_hil.plugin.selection import Plan
from pytest_hil.plugin.session import HilSession
from pytest_hil.plugin.supply import BoardSupply

#: The exit status of a worker that left because its board broke.
BOARD_BROKE = 75

#: Most bytes of logs a lab host's worker sends back to its --hil-dist controller.
SHIPPED_LOGS_LIMIT = 256 * 1024 * 1024


class WorkerSupply(BoardSupply):
    """The board a --hil-dist worker was given by its controller, which holds the leases."""

    serves_lab_host_boards = True  # a lab host's board gets its worker on that host

    def __init__(self, session: HilSession, board: str) -> None:
        self.session = session
        self.board = board

    def serving(self, item: pytest.Item, plan: Plan) -> dict[str, Board]:
        session = self.session
        if self.board in session.broken:
            leave(session)  # its tests go to workers whose boards work
        if plan.roles is not None:
            return {role: session.boards[name] for role, name in plan.roles.items()}
        if self.board not in plan.candidates:
            pytest.skip(f"needs one of {', '.join(plan.candidates)}: no --hil-dist worker serves it (broken?)")
        return {"board": session.boards[self.board]}


def serve_as_worker(session: HilSession, workerinput: dict[str, Any]) -> None:
    """Make this session a worker serving the board its controller gave it."""
    session.supply = WorkerSupply(session, workerinput["hil_board"])
    session.eligible = [name for name in session.boards if name in workerinput["hil_boards"]]
    for board in session.boards.values():
        board.logs.fresh = workerinput.get("hil_fresh_logs", True)  # a replacement continues its predecessor's
    if "hil_log_dir" in workerinput:  # the controller's: it reads crashed tests' logs
        session.use_log_dir(Path(workerinput["hil_log_dir"]))


def leave(session: HilSession) -> None:
    """Close the board's drivers and end this worker process now."""
    session.release_all()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(BOARD_BROKE)


def ship_logs(session: HilSession, workeroutput: dict[str, Any]) -> None:
    """A lab host's worker sends its logs and artifacts back to the controller."""
    if session.log_dir is None:
        return
    shipped: dict[str, bytes] = {}
    total = 0
    for path in sorted(session.log_dir.rglob("*")):
        if path.is_file() and total + path.stat().st_size <= SHIPPED_LOGS_LIMIT:
            content = path.read_bytes()
            shipped[str(path.relative_to(session.log_dir))] = content
            total += len(content)
    workeroutput["hil_logs"] = shipped
