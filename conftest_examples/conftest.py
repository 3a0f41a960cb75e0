"""Example conftest: the pytest-hil hooks a lab typically implements, and a login fixture.

Copy it next to your own suite. Run the suite with:
    pytest --hil-lab conftest_examples/lab.yaml conftest_examples --junitxml=report.xml
"""

from __future__ import annotations

import pytest

from pytest_hil import Board


def pytest_hil_board_acquired(board: Board, config: pytest.Config) -> None:
    """Once per board and session, before its first test: switch it on (a real lab might flash it here)."""
    if "power" in board.resources:
        board.resources["power"].on()  # type: ignore[attr-defined]


def pytest_hil_after_test(board: Board, item: pytest.Item, report: pytest.TestReport) -> None:
    """After a failed test, add what the board's power switch says to the report."""
    if report.failed and "power" in board.resources:
        state = board.resources["power"].state()  # type: ignore[attr-defined]
        report.sections.append(("hil", f"board {board.name}: power {'on' if state else 'off'}"))


@pytest.fixture
def login(board: Board, console):  # type: ignore[no-untyped-def]
    """The board's console at a shell prompt, logging in with the lab file's `shell:` settings if needed."""
    spec = board.shell_spec
    assert spec is not None, f"board {board.name} has no shell settings in the lab file"
    console.sendline("")
    if console.expect([spec.login_prompt, spec.prompt], timeout=spec.boot_timeout) == 0:
        console.sendline(spec.username)
        if spec.password is not None:
            console.expect("Password: ")
            console.sendline(spec.password)
        console.expect(spec.prompt)
    return console
