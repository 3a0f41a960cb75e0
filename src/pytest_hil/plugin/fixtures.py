"""The fixtures tests ask for: the lab, the board, its resources by name or interface, artifacts."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_hil.board import Board
from pytest_hil.errors import ConsoleClosed, DriverUnavailable, HilError, LoginRefused, ShellUnreachable
from pytest_hil.interfaces import INTERFACES, Driver, Shell
from pytest_hil.lab.model import Lab
from pytest_hil.plugin import junit
from pytest_hil.plugin.needs import FIXTURE_FLAG
from pytest_hil.plugin.selection import NO_LAB, plan_key
from pytest_hil.plugin.session import hil_session

#: The boards serving a test (role -> board; one entry named "board" for single-board tests).
serving_key = pytest.StashKey[dict[str, Board]]()

#: Interfaces a fixture of the same name resolves to; `shell` has a fixture of its own.
INTERFACE_FIXTURES = tuple(name for name in INTERFACES if name != "shell")


@pytest.fixture(scope="session")
def hil_lab(request: pytest.FixtureRequest) -> Lab:
    """The parsed lab file."""
    lab = hil_session(request.config).lab
    if lab is None:
        pytest.skip(NO_LAB)
    return lab


@pytest.fixture
def _hil_each(request: pytest.FixtureRequest) -> str:
    """The board name `each=True` parametrized this test with."""
    return str(request.param)


@pytest.fixture
def _hil_board(request: pytest.FixtureRequest) -> Iterator[Board]:
    """Choose, lock and acquire the board(s) serving this test, logging their consoles into the test's
    folder; yields the (first role's) board."""
    session = hil_session(request.config)
    item = request.node
    if not session.active:
        pytest.skip(NO_LAB)
    plan = item.stash.get(plan_key, None)
    if plan is None:
        pytest.fail(f"{item.nodeid}: request pytest-hil fixtures as arguments, not by name at run time", pytrace=False)
    if plan.reason:
        pytest.fail(f"no board can serve this test (--hil-strict): {plan.reason}", pytrace=False)
    serving = session.supply.serving(item, plan)
    for board in serving.values():
        if board.name in session.broken:
            pytest.skip(f"board {board.name} is broken: {session.broken[board.name]}")
    folder = session.test_folder(item.nodeid, _default_log_dir(request))
    locked = sorted(serving.values(), key=lambda board: board.name)  # one order everywhere: no deadlock
    for board in locked:
        board.lock.acquire()
    try:
        for board in serving.values():
            board.logs.start_test(folder)
            session.acquire(board.name)
        item.stash[serving_key] = serving
        main = next(iter(serving.values()))
        junit.note_boards(item.user_properties, (board.name for board in serving.values()), main.labels)
        yield main
    finally:
        for board in reversed(locked):
            for path in board.logs.end_test():
                junit.note_file(item.user_properties, junit.CONSOLE_LOG, path)
            board.lock.release()


def _default_log_dir(request: pytest.FixtureRequest) -> Path:
    """hil-logs in the session's base temporary folder (asked for only when needed: a fixture asked
    for by argument would lengthen the fixture closure of every board test)."""
    factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
    return factory.getbasetemp() / "hil-logs"


def _board(_hil_board: Board) -> Board:
    """The board serving this test: `.name`, `.labels`, `.resources`, each resource as attribute or item."""
    return _hil_board


def _boards(request: pytest.FixtureRequest, _hil_board: Board) -> dict[str, Board]:
    """Role -> board for tests marked `hil(roles={...})`."""
    plan = request.node.stash[plan_key]
    if plan.roles is None:
        pytest.fail("the boards fixture is for tests marked hil(roles={...}); use board", pytrace=False)
    return dict(request.node.stash[serving_key])


setattr(_board, FIXTURE_FLAG, "board")
setattr(_boards, FIXTURE_FLAG, "board")
board = pytest.fixture(name="board")(_board)
boards = pytest.fixture(name="boards")(_boards)


@pytest.fixture
def hil_artifacts(request: pytest.FixtureRequest) -> Path:
    """This test's folder under --hil-log-dir (its console logs go there too), created on first use."""
    folder = hil_session(request.config).test_folder(request.node.nodeid, _default_log_dir(request))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shell(request: pytest.FixtureRequest, _hil_board: Board) -> Shell:
    """A logged-in shell on the board's console (its `shell:` settings), reached before the test starts."""
    session = hil_session(request.config)
    try:
        shell = session.shell_for(_hil_board)
        shell.connect()
        return shell
    except DriverUnavailable as error:
        skip, reason = True, str(error)
    except (ShellUnreachable, LoginRefused, ConsoleClosed) as error:
        session.mark_broken(_hil_board, error.headline, request.node)
        skip, reason = False, str(error)
    except HilError as error:
        skip, reason = False, str(error)
    if skip:
        pytest.skip(reason)
    pytest.fail(reason, pytrace=False)


setattr(_shell, FIXTURE_FLAG, "resource")
shell = pytest.fixture(name="shell")(_shell)


def resource_fixture(name: str, by_interface: bool) -> Callable[..., Driver]:
    """A fixture giving the serving board's resource `name` (or its one resource of interface `name`)."""

    def fixture(_hil_board: Board) -> Driver:
        try:
            return _hil_board.interface(name) if by_interface else _hil_board.resource(name)
        except DriverUnavailable as error:  # not installed here: not the test's fault
            skip, reason = True, str(error)
        except HilError as error:  # a driver that cannot start: its message says which and why
            skip, reason = False, str(error)
        # outside the except blocks, so the report shows one line, not a chain of tracebacks
        if skip:
            pytest.skip(reason)
        pytest.fail(reason, pytrace=False)

    fixture.__doc__ = f"The board's {name} resource" + (f" or its one {name} driver." if by_interface else ".")
    setattr(fixture, FIXTURE_FLAG, "resource")
    return pytest.fixture(name=name)(fixture)


for _name in INTERFACE_FIXTURES:
    globals()[f"_fixture_{_name}"] = resource_fixture(_name, by_interface=True)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Add one fixture per resource name of the lab."""
    lab = hil_session(config).lab
    if lab is None:
        return
    generated = types.ModuleType("pytest_hil.plugin.lab_fixtures")
    for name in lab.resource_names:
        if name not in INTERFACES:
            setattr(generated, f"_fixture_{name}", resource_fixture(name, by_interface=False))
    config.pluginmanager.register(generated, "hil-lab-fixtures")
