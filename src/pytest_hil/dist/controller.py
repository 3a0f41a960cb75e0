"""The controller side of `--hil-dist`: lease the boards the tests can use, start one xdist worker
per board (bound through its `workerinput`, so a restarted worker gets the same board), route tests
with `HilScheduling`, keep durations for the next run, and report which board ran what."""

from __future__ import annotations

import importlib.metadata
import warnings
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_hil.console.log import file_tail
from pytest_hil.dist.routes import Route, collect_routes
from pytest_hil.dist.scheduler import HilScheduling
from pytest_hil.dist.xdist_private import give_lab_hosts_rootdir_paths, outside_rootdir
from pytest_hil.errors import LeaseTimeout
from pytest_hil.paths import contained, folder_name_of
from pytest_hil.plugin import junit
from pytest_hil.plugin.leasing import LeasingSupply
from pytest_hil.plugin.pytest_private import base_temp
from pytest_hil.plugin.report import TAIL_LINES, tail_section

if TYPE_CHECKING:
    from pytest_hil.plugin.session import HilSession

DURATIONS_KEY = "hil/durations"


def start(config: pytest.Config, session: HilSession, max_boards: int | None) -> None:
    """Lease boards and turn this run into an xdist run with one worker per board."""
    if not config.pluginmanager.hasplugin("xdist"):
        raise pytest.UsageError("--hil-dist needs pytest-xdist: pip install pytest-xdist (or 'pytest-hil[dist]')")
    if config.getoption("collectonly"):
        return
    if config.option.numprocesses or config.option.dist != "no" or config.option.tx:
        raise pytest.UsageError("--hil-dist starts one worker per leased board itself: drop -n, --dist and --tx")
    try:
        routes = collect_routes(config)
    except Exception as error:
        raise pytest.UsageError(str(error)) from None
    used = {board for route in routes.values() if route.reason is None for board in route.boards}
    wanted = [name for name in session.eligible if name in used]
    if not wanted:
        return  # no test needs a board: an ordinary run, whose board tests skip saying why
    limit = max_boards or len(wanted)
    assert isinstance(session.supply, LeasingSupply)  # the controller leases the boards its workers serve
    leases = session.supply.lease()
    held: list[str] = []
    for name in wanted:  # every board that is free now, up to the limit
        if len(held) == limit:
            break
        try:
            leases.hold([name], timeout=0)
            held.append(name)
        except LeaseTimeout:
            continue
    if not held:  # all busy: wait (as long as --hil-lease-timeout allows) for whichever frees first
        try:
            held.append(leases.hold_any(wanted))
        except LeaseTimeout as error:
            raise pytest.UsageError(f"--hil-dist: no board free for the selected tests: {error}") from None
    config.option.tx = [worker_spec(session, name) for name in held]
    if any(spec.startswith("ssh=") for spec in config.option.tx):
        lab_host_arguments(config, session)
    check_lab_hosts(config, session, held)
    config.option.dist = "load"
    config.pluginmanager.register(DistController(session, dict(enumerate(held)), routes), "hil-dist-controller")


def lab_host_arguments(config: pytest.Config, session: HilSession) -> None:
    """Lab hosts run the tests from `remote.chdir`, a copy of the rootdir: path arguments inside the
    rootdir reach their workers relative to it; one outside it is a usage error, before any worker.
    A lab file named by the environment (`hil shell` sets HIL_LAB) reaches them as `--hil-lab`: a lab
    host's worker gets the arguments, not this environment."""
    invoked_in, rootdir = config.invocation_params.dir, config.rootpath
    outside = outside_rootdir(config.invocation_params.args, invoked_in, rootdir)
    if outside:
        raise pytest.UsageError(
            f"--hil-dist: {outside[0]} is outside the rootdir {rootdir}: lab hosts run the tests from"
            " remote.chdir, a copy of the rootdir; give paths inside it"
        )
    extra = []
    lab = session.settings.lab
    if lab is not None and session.settings.lab_origin.startswith("environment"):
        path = (invoked_in / lab).resolve()
        if not path.is_relative_to(rootdir.resolve()):
            raise pytest.UsageError(f"--hil-dist: the lab file {lab} is outside the rootdir {rootdir}")
        extra.append(f"--hil-lab={path.relative_to(rootdir.resolve()).as_posix()}")
    give_lab_hosts_rootdir_paths(invoked_in, rootdir, extra)


def worker_spec(session: HilSession, board: str) -> str:
    """xdist's `--tx` spec of the worker for `board`: here, or on its lab host over SSH."""
    assert session.lab is not None
    host = session.lab.boards[board].host
    if host is None:
        return "popen"
    remote = session.lab.remote
    if remote.chdir is None:
        raise pytest.UsageError(
            f"board {board} has host: {host}, but the lab file sets no remote.chdir (where the tests are on the lab hosts)"
        )
    spec = f"ssh={host}//python={remote.python}//chdir={remote.chdir}"
    return spec + (f"//ssh_config={remote.ssh_config}" if remote.ssh_config else "")


#: Run on each lab host before its worker starts: what is missing there, one line each.
HOST_CHECK = """
import importlib.metadata, importlib.util, os
missing = [name for name in ("pytest_hil", "xdist") if importlib.util.find_spec(name) is None]
problems = [f"{name} is not installed for this python" for name in missing]
lab, version = channel.receive()
if not missing and importlib.metadata.version("pytest-hil") != version:
    problems.append(f"pytest-hil {importlib.metadata.version('pytest-hil')} is installed there, {version} here")
if not os.path.isfile(lab):
    problems.append(f"no lab file {lab} in {os.getcwd()}")
channel.send(problems)
"""


def check_lab_hosts(config: pytest.Config, session: HilSession, boards: list[str]) -> None:
    """Each lab host a worker will run on has pytest-hil, pytest-xdist and the test tree, or a clear error."""
    import execnet

    assert session.lab is not None
    lab_argument = str(session.settings.lab)
    for spec in sorted({worker_spec(session, board) for board in boards} - {"popen"}):
        host = spec.split("//", 1)[0].removeprefix("ssh=")
        try:
            gateway = execnet.makegateway(spec)
        except Exception as error:
            raise pytest.UsageError(f"--hil-dist: lab host {host}: cannot start python over SSH ({spec}): {error}") from None
        try:
            channel = gateway.remote_exec(HOST_CHECK)
            channel.send((lab_argument, importlib.metadata.version("pytest-hil")))
            problems = channel.receive(60)
        finally:
            gateway.exit()
        if problems:
            where = f"{session.lab.remote.python} in {session.lab.remote.chdir}"
            raise pytest.UsageError(f"--hil-dist: lab host {host} ({where}): " + "; ".join(problems))


class DistController:
    """Hooks of the controller of a `--hil-dist` run."""

    def __init__(self, session: HilSession, boards: dict[int, str], routes: dict[str, Route]) -> None:
        self.session = session
        self.boards = {f"gw{index}": name for index, name in boards.items()}
        self.routes = routes
        self.durations: dict[str, float] = {}
        self.scheduler: HilScheduling | None = None
        self.orphaned: list[str] = []  # boards of workers that died, for their replacements

    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> HilScheduling:
        cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
        self.durations = dict(cache.get(DURATIONS_KEY, {})) if cache is not None else {}
        self.scheduler = HilScheduling(self.boards, self.routes, self.durations)
        return self.scheduler

    def pytest_configure_node(self, node: Any) -> None:
        """Bind the worker to its board; xdist gives a restarted worker a new id: it takes the board of
        the worker that died. Logs go to one folder the controller can read too."""
        replacement = node.gateway.id not in self.boards
        if replacement:
            self.boards[node.gateway.id] = self.orphaned.pop(0)
        board = node.workerinput["hil_board"] = self.boards[node.gateway.id]
        node.workerinput["hil_fresh_logs"] = not replacement  # a replacement keeps its predecessor's logs
        node.workerinput["hil_boards"] = sorted(set(self.boards.values()))
        assert self.session.lab is not None
        host = self.session.lab.boards[board].host
        if host is None:
            node.workerinput["hil_log_dir"] = str(self.log_dir())
        else:  # logs stay on the lab host during the run and come back when its worker finishes
            node.workerinput["hil_log_dir"] = self.remote_logs(board)
            node.workerinput["hil_ship_logs"] = True

    def remote_logs(self, board: str) -> str:
        """Where a lab host's worker keeps the logs of `board`."""
        assert self.session.lab is not None
        return f"{self.session.lab.remote.chdir}/hil-logs/{board}"

    def local_logs(self, board: str) -> Path:
        """Where the controller puts them when they come back."""
        assert self.session.lab is not None
        return self.log_dir() / f"{board}@{self.session.lab.boards[board].host}"

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Before junit sees them: a lab host's log paths become the controller's copies; note
        durations and boards that broke."""
        node = getattr(report, "node", None)  # xdist: the worker the report came from
        board = self.boards.get(node.gateway.id, "") if node is not None else ""
        assert self.session.lab is not None
        if board and self.session.lab.boards[board].host is not None:
            remote, local = self.remote_logs(board), str(self.local_logs(board))
            report.user_properties = [
                (name, str(value).replace(remote, local, 1) if name in junit.FILES else value)
                for name, value in report.user_properties
            ]
        self._note(report)

    def log_dir(self) -> Path:
        config = self.session.config
        return self.session.use_log_dir(base_temp(config) / "hil-logs")

    def pytest_testnodedown(self, node: Any, error: object | None) -> None:
        board = self.boards[node.gateway.id]
        if error is not None:  # it crashed: xdist starts a replacement
            self.orphaned.append(board)
        shipped = getattr(node, "workeroutput", {}).get("hil_logs", {})
        folder = self.local_logs(board)
        folder.mkdir(parents=True, exist_ok=True)
        for relative, content in shipped.items():
            path = contained(folder, relative) if isinstance(relative, str) else None
            if path is None or not isinstance(content, bytes):
                warnings.warn(
                    pytest.PytestWarning(
                        f"pytest-hil: the worker of {board} sent a log "
                        f"named {relative!r}, which would land outside {folder}: refused"
                    ),
                    stacklevel=1,
                )
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)

    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        """The test that took its worker down fails with what its board's consoles said."""
        folder = self.log_dir() / folder_name_of(crashitem)
        for log in sorted(folder.glob("*.log")) if folder.is_dir() else []:
            report.sections.append(tail_section("console", log.stem, log, file_tail(log, TAIL_LINES + 10)))
            junit.note_file(report.user_properties, junit.CONSOLE_LOG, log)

    def _note(self, report: pytest.TestReport) -> None:
        if report.when == "call" and report.passed:
            self.durations[report.nodeid] = report.duration
        for board, reason in junit.broken_of(report.user_properties):
            self.session.mark_broken(self.session.boards[board], reason)
            if self.scheduler is not None:
                self.scheduler.mark_broken(board)

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Generator[None, Any, Any]:
        result = yield
        board = junit.boards_of(report.user_properties)
        if board and config.option.verbose > 0 and isinstance(result, tuple) and len(result) == 3 and result[2]:
            category, letter, word = result
            if isinstance(word, tuple):
                word, markup = word
                return (category, letter, (f"{word} on {board}", markup))
            return (category, letter, f"{word} on {board}")
        return result

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        workers = ", ".join(f"{gateway} -> {board}" for gateway, board in self.boards.items())
        terminalreporter.write_line(f"pytest-hil: workers {workers}")
        for board, reason in self.session.broken.items():
            terminalreporter.write_line(f"pytest-hil: board {board} broke: {reason}", red=True)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        cache = getattr(session.config, "cache", None)
        if cache is not None:
            cache.set(DURATIONS_KEY, self.durations)
