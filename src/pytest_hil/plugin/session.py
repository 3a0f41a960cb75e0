"""The session's lab and boards: loaded at configure time, released at session end."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_hil.board import Board
from pytest_hil.console.log import BoardLogs
from pytest_hil.errors import HilError, SelectorError
from pytest_hil.lab import Lab, Selector, parse_selector
from pytest_hil.paths import folder_name_of
from pytest_hil.plugin import junit
from pytest_hil.plugin.leasing import LeasingSupply
from pytest_hil.plugin.options import Settings, read_settings, space_form_problem
from pytest_hil.plugin.supply import BoardSupply
from pytest_hil.plugin.terminal import capture_suspended, say
from pytest_hil.progress import Progress
from pytest_hil.registry import DriverRegistry, default_registry

if TYPE_CHECKING:
    from pytest_hil.console.shell import ConsoleShell


@dataclass
class HilSession:
    """What one pytest run knows about the lab: its boards, which of them it may use, which it took."""

    config: pytest.Config
    settings: Settings
    lab: Lab | None = None
    registry: DriverRegistry | None = None
    boards: dict[str, Board] = field(default_factory=dict)
    eligible: list[str] = field(default_factory=list)
    acquired: list[str] = field(default_factory=list)
    #: Board name -> why it cannot serve tests for the rest of the session.
    broken: dict[str, str] = field(default_factory=dict)
    shells: dict[str, ConsoleShell] = field(default_factory=dict)
    log_dir: Path | None = None
    #: Where the boards come from: leased by this session unless a plugin supplies them.
    supply: BoardSupply = field(init=False)
    #: Tests whose folders this run has started afresh.
    fresh_folders: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.supply = LeasingSupply(self)

    @property
    def active(self) -> bool:
        return self.lab is not None

    def use_log_dir(self, default: Path) -> Path:
        """The log folder: --hil-log-dir, else `default`; fixed for the session at first use."""
        if self.log_dir is None:
            self.log_dir = self.settings.log_dir or default
            for board in self.boards.values():
                board.logs.log_dir = self.log_dir
        return self.log_dir

    def test_folder(self, nodeid: str, default_log_dir: Path) -> Path:
        """The folder of test `nodeid`'s logs and artifacts; what an earlier run left there is removed
        when this run first asks for it (a run starts its own files)."""
        folder = self.use_log_dir(default_log_dir) / folder_name_of(nodeid)
        if nodeid not in self.fresh_folders:
            self.fresh_folders.add(nodeid)
            if folder.is_dir() and not folder.is_symlink():
                shutil.rmtree(folder, ignore_errors=True)
        return folder

    def mark_broken(self, board: Board, reason: str, item: pytest.Item | None = None) -> None:
        """`board` cannot serve tests for the rest of the session; `item`, the test that found out,
        carries it in its report (a --hil-dist controller reroutes that board's queue)."""
        self.broken.setdefault(board.name, reason)
        if item is not None:
            junit.note_broken(item.user_properties, board.name, reason)

    def shell_for(self, board: Board) -> ConsoleShell:
        """The board's console shell, made once per session from its `shell:` settings."""
        shell = self.shells.get(board.name)
        if shell is None:
            from pytest_hil.console.shell import console_shell  # consoles load when a test needs one

            shell = self.shells[board.name] = console_shell(board)
        return shell

    def acquire(self, name: str) -> Board:
        """The board called `name`, announced to `pytest_hil_board_acquired` the first time."""
        board = self.boards[name]
        if name not in self.acquired:
            self.acquired.append(name)
            self.config.hook.pytest_hil_board_acquired(board=board, config=self.config)
        return board

    def give_back(self, name: str) -> None:
        """Before the session releases board `name` mid-run: close its drivers (someone else may use
        the hardware next); a later test that leases it again announces it afresh."""
        if name in self.acquired:
            self.acquired.remove(name)
            board = self.boards[name]
            self.config.hook.pytest_hil_board_released(board=board, config=self.config)
            for error in self._close_board(board):
                say(self.config, f"pytest-hil: {error}", red=True)
        self.shells.pop(name, None)

    def release_all(self) -> list[BaseException]:
        """Release every acquired board, newest first, closing its drivers; collect the errors."""
        errors: list[BaseException] = []
        while self.acquired:
            board = self.boards[self.acquired.pop()]
            try:
                self.config.hook.pytest_hil_board_released(board=board, config=self.config)
            except Exception as error:
                errors.append(error)
            errors.extend(self._close_board(board))
        errors.extend(self.supply.release(self.broken))
        return errors

    def _close_board(self, board: Board) -> list[BaseException]:
        """Its shell first (it leaves the terminal as it found it), then its drivers."""
        errors: list[BaseException] = []
        shell = self.shells.pop(board.name, None)
        if shell is not None:
            try:
                shell.close()
            except Exception as error:
                errors.append(error)
        return errors + board.close()

    def eligible_boards(self) -> Iterator[Board]:
        return (self.boards[name] for name in self.eligible)


session_key = pytest.StashKey[HilSession]()


def hil_session(config: pytest.Config) -> HilSession:
    return config.stash[session_key]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "hil(selector=None, *, board=None, each=False, roles=None): run on a lab board matching the "
        "selector (e.g. 'family=rpi4,hdmi'), the named board, every matching board, or several boards by role",
    )
    problem = space_form_problem(config)
    if problem is not None:
        raise pytest.UsageError(problem)
    settings = read_settings(config)
    session = HilSession(config, settings)
    config.stash[session_key] = session
    if config.getoption("help", False):
        return
    if settings.lab is None:
        if settings.boards or settings.select:
            option = "--hil-board" if settings.boards else "--hil-select"
            raise pytest.UsageError(f"{option} needs a lab file: pass --hil-lab, set hil_lab or HIL_LAB")
        return
    from pytest_hil.lab.load import load_lab  # PyYAML and the schema, only with a lab file

    try:
        session.registry = default_registry()
        session.lab = load_lab(settings.lab, session.registry)
    except HilError as error:
        raise pytest.UsageError(f"{error}\n(lab file from {settings.lab_origin})") from None
    lab = session.lab
    progress = _terminal_progress(config)
    session.boards = {
        name: Board(
            spec, lab.path.parent, BoardLogs(name, settings.log_dir, lab.secrets, settings.log_timestamps), progress
        )
        for name, spec in lab.boards.items()
    }
    session.eligible = _eligible(session.lab, settings)
    junit.suite_property(config, junit.LAB, str(lab.path))
    junit.suite_property(config, junit.LAB_SHA256, lab.sha256)


def _terminal_progress(config: pytest.Config) -> Progress:
    """Progress written through pytest's terminal reporter, with output capture suspended."""

    def write(text: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            with capture_suspended(config):  # seen now, not swallowed into the test's captured output
                reporter.write(text)
                reporter.flush()

    def live() -> bool:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        return reporter is not None and bool(reporter.hasmarkup)

    return Progress(write, live=live)


def _eligible(lab: Lab, settings: Settings) -> list[str]:
    unknown = [name for name in settings.boards if name not in lab.boards]
    if unknown:
        known = ", ".join(lab.boards)
        raise pytest.UsageError(f"--hil-board {', '.join(unknown)}: no such board in {lab.path} (boards: {known})")
    selector = Selector()
    if settings.select:
        try:
            selector = parse_selector(settings.select, lab.selectors)
        except SelectorError as error:
            raise pytest.UsageError(f"--hil-select: {error}") from None
    return [
        name
        for name, spec in lab.boards.items()
        if (not settings.boards or name in settings.boards) and selector.matches(spec.labels)
    ]


def pytest_sessionfinish(session: pytest.Session) -> None:
    _release(session.config)


def pytest_unconfigure(config: pytest.Config) -> None:
    _release(config)


def _release(config: pytest.Config) -> None:
    hil = config.stash.get(session_key, None)
    if hil is None:
        return
    errors = hil.release_all()
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for error in errors:
        if reporter is not None:
            reporter.write_line(f"pytest-hil: {error}", red=True)
