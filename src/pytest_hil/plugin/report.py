"""What a finished test tells the lab's hooks."""

from __future__ import annotations

import base64
import warnings
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_hil.board import Board
from pytest_hil.console.framing import without_framing
from pytest_hil.errors import ShellUnreachable
from pytest_hil.plugin import junit
from pytest_hil.plugin.fixtures import serving_key
from pytest_hil.plugin.session import hil_session


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report: pytest.TestReport = yield
    _after_report(item, call, report)
    return report


def _after_report(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """Links, files, console tails and broken boards for a test's report; then the lab's hook."""
    serving = item.stash.get(serving_key, None)
    if report.when == "teardown":
        _html_links(report, [Path(path) for path in junit.files(item.user_properties, (junit.CONSOLE_LOG,))])
    if serving is None or not (report.when == "call" or (report.when == "setup" and report.failed)):
        return
    _attach_files(item, report, serving)
    for board in serving.values():
        for problem in board.logs.take_problems():
            warnings.warn(pytest.PytestWarning(f"pytest-hil: {board.name}: {problem}"), stacklevel=1)
    if report.failed:
        _attach_console_tails(report, serving)
        error = call.excinfo.value if call.excinfo is not None else None
        if isinstance(error, ShellUnreachable):
            session = hil_session(item.config)
            for board in serving.values():
                session.mark_broken(board, error.headline, item)
    for board in serving.values():
        try:
            item.config.hook.pytest_hil_after_test(board=board, item=item, report=report)
        except Exception as error:
            warnings.warn(
                pytest.PytestWarning(f"{item.nodeid}: pytest_hil_after_test failed on {board.name}: {error!r}"),
                stacklevel=1,
            )


def _attach_files(item: pytest.Item, report: pytest.TestReport, serving: dict[str, Board]) -> None:
    """Files drivers attached (screenshots): junit properties, and pytest-html extras when it is there."""
    for board in serving.values():
        for path in board.logs.attachments:
            junit.note_file(item.user_properties, junit.ATTACHMENT, path)
            _html_image(report, path)
        board.logs.attachments = []


def _html_image(report: pytest.TestReport, path: Path) -> None:
    try:
        from pytest_html import extras
    except ImportError:
        return
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        return
    mime = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
    image = extras.image(base64.b64encode(path.read_bytes()).decode(), path.name, mime, path.suffix.lstrip("."))
    report.extras = [*getattr(report, "extras", []), image]  # type: ignore[attr-defined]


def _html_links(report: pytest.TestReport, logs: list[Path]) -> None:
    """Links to the test's console logs in pytest-html's report, when it is there."""
    try:
        from pytest_html import extras
    except ImportError:
        return
    links = [extras.url(path.absolute().as_uri(), name=path.name) for path in logs]
    if links:
        report.extras = [*getattr(report, "extras", []), *links]  # type: ignore[attr-defined]


#: Lines of each console a failure shows.
TAIL_LINES = 50


def tail_section(kind: str, name: str, path: Path, text: str) -> tuple[str, str]:
    """A report section of a console's (or trace's) last lines, the shell's own lines taken out."""
    return f"{kind} {name}: last {TAIL_LINES} lines of {path}", without_framing(text, TAIL_LINES)


def _attach_console_tails(report: pytest.TestReport, serving: dict[str, Board]) -> None:
    """The last lines of each console (and trace: CAN frames) during this test, into the failure
    (terminal and junit)."""
    for board in serving.values():
        for kind, log in [
            *(("console", log) for log in board.logs.logs.values()),
            *(("trace", log) for log in board.logs.traces.values()),
        ]:
            if log.test_path is None:
                continue
            title, text = tail_section(kind, log.name, log.test_path, log.tail(TAIL_LINES + 10))
            addsection = getattr(report.longrepr, "addsection", None)  # exception reports render sections
            if callable(addsection):
                addsection(title, text)
            else:
                report.sections.append((title, text))
