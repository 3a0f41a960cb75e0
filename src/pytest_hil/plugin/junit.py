"""Every `hil.*` name pytest-hil writes into reports and junit files, and the one path for each.

Test properties travel in each report's `user_properties` (xdist carries them from workers to the
controller, junit writes them as `<property>`s):

- `hil.board`: the board(s) that served the test; `hil.label.KEY`: the first one's labels;
- `hil.console_log`, `hil.attachment`: files of the test (console logs, screenshots), also written
  as GitLab's `[[ATTACHMENT|path]]` lines into the test case's `system-out`;
- `hil.broken`: `BOARD: REASON`, a board that cannot serve tests for the rest of the session.

Suite properties (`hil.lab`, `hil.lab.sha256`, `hil.lease.BOARD`) go through `suite_property`, at
any time from configure to the session's end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from xml.etree import ElementTree

import pytest

from pytest_hil.plugin.pytest_private import junit_writer
from pytest_hil.secrets import mask, shown

BOARD = "hil.board"
LABEL = "hil.label."
CONSOLE_LOG = "hil.console_log"
ATTACHMENT = "hil.attachment"
BROKEN = "hil.broken"
LAB = "hil.lab"
LAB_SHA256 = "hil.lab.sha256"
LEASE = "hil.lease."

#: Properties of files, whose paths a --hil-dist controller rewrites for logs shipped from lab hosts.
FILES = (CONSOLE_LOG, ATTACHMENT)

Properties = list[tuple[str, object]]


def note_boards(properties: Properties, boards: Iterable[str], labels: Mapping[str, str]) -> None:
    properties.append((BOARD, ",".join(boards)))
    properties.extend((f"{LABEL}{key}", shown(value)) for key, value in labels.items())


def note_file(properties: Properties, kind: str, path: object) -> None:
    """`kind`: CONSOLE_LOG or ATTACHMENT."""
    properties.append((kind, str(path)))


def note_broken(properties: Properties, board: str, reason: str) -> None:
    properties.append((BROKEN, f"{board}: {reason}"))


def files(properties: Iterable[tuple[str, object]], kinds: tuple[str, ...] = FILES) -> list[str]:
    """The paths of the `kinds` files among `properties`, each once."""
    return list(dict.fromkeys(str(value) for name, value in properties if name in kinds))


def boards_of(properties: Iterable[tuple[str, object]]) -> str | None:
    return next((str(value) for name, value in properties if name == BOARD), None)


def broken_of(properties: Iterable[tuple[str, object]]) -> list[tuple[str, str]]:
    """(board, reason) of each `hil.broken` property."""
    found = []
    for name, value in properties:
        if name == BROKEN:
            board, _, reason = str(value).partition(": ")
            found.append((board, reason))
    return found


_pending_key = pytest.StashKey[list[tuple[str, str]]]()
_started_key = pytest.StashKey[bool]()


def suite_property(config: pytest.Config, name: str, value: str) -> None:
    """A junit `testsuite` property (masked); kept until the junit writer starts with the session."""
    if not config.stash.get(_started_key, False):
        config.stash.setdefault(_pending_key, []).append((name, mask(value)))
        return
    writer = junit_writer(config)
    if writer is not None:
        writer.add_global_property(name, mask(value))


class Attachments:
    """GitLab shows a test's files from `[[ATTACHMENT|path]]` lines in its junit system-out: one per
    console log and picture, added before the junit writer closes the test case."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":
            return
        paths = files(report.user_properties)
        writer = junit_writer(self.config)
        if not paths or writer is None:
            return
        node = ElementTree.Element("system-out")
        node.text = "".join(f"[[ATTACHMENT|{path}]]\n" for path in paths)
        with contextlib.suppress(AttributeError):  # a junit writer of another shape: the properties remain
            writer.node_reporter(report).append(node)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(Attachments(config), "hil-junit-attachments")


def pytest_sessionstart(session: pytest.Session) -> None:
    """The junit writer exists now: write the suite properties kept so far."""
    config = session.config
    config.stash[_started_key] = True
    for name, value in config.stash.get(_pending_key, []):
        suite_property(config, name, value)
    config.stash[_pending_key] = []
