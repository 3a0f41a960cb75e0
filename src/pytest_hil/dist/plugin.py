"""The `--hil-dist` pytest plugin (entry point `hil-dist`): its options, and which side this process
is: the controller (leases boards, starts workers) or a worker (serves one board).

The core plugin knows nothing of it: this plugin turns a session into a controller or a worker by
setting `HilSession.supply` and registering the controller's hooks.
"""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from pytest_hil.plugin.options import OPTION_GROUP, number_option
from pytest_hil.plugin.session import session_key


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(*OPTION_GROUP)
    group.addoption(
        "--hil-dist",
        action="store_true",
        help="run on every board the tests can use at once: one pytest-xdist worker per leased board",
    )
    group.addoption(
        "--hil-max-boards", type=int, metavar="N", help="--hil-dist: lease at most N boards (default: all free ones)"
    )
    group.addoption("--hil-routes-out", metavar="FILE", help=argparse.SUPPRESS)  # --hil-dist's collection pass
    parser.addini("hil_dist", "one pytest-xdist worker per leased board", type="bool", default=False)
    parser.addini("hil_max_boards", "--hil-dist: lease at most this many boards", default=None)


def pytest_configure(config: pytest.Config) -> None:
    session = config.stash.get(session_key, None)  # None: the core plugin is off (-p no:hil)
    if session is None or not session.active:
        return
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    if "hil_board" in workerinput:
        from pytest_hil.dist.worker import serve_as_worker

        serve_as_worker(session, workerinput)
    elif config.getoption("hil_dist") or config.getini("hil_dist"):
        from pytest_hil.dist.controller import start

        start(config, session, number_option(config, "hil_max_boards", int))


def pytest_collection_finish(session: pytest.Session) -> None:
    """--hil-routes-out (the collection pass of --hil-dist): every test's route, for the scheduler."""
    out = session.config.getoption("hil_routes_out")
    if out:
        from pytest_hil.dist.routes import write_routes

        write_routes(out, session.items)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """A lab host's worker sends its logs back, after the core plugin closed them."""
    config = session.config
    hil = config.stash.get(session_key, None)
    if hil is not None and getattr(config, "workerinput", {}).get("hil_ship_logs"):
        from pytest_hil.dist.worker import ship_logs

        ship_logs(hil, getattr(config, "workeroutput"))  # noqa: B009 - set by xdist, untyped
