"""Example conftest: the pytest-hil hooks a lab typically implements.

Copy it next to your own suite. Run the suite with:
    pytest --hil-lab=conftest_examples/lab.yaml conftest_examples --junitxml=report.xml
"""

from __future__ import annotations

import pytest

from pytest_hil import Board
from pytest_hil.interfaces import Power

# The QEMU and bootloader examples have labs of their own: pytest --hil-lab=conftest_examples/qemu/lab.yaml
# conftest_examples/qemu (and bootloader/ likewise)
# The flash-once recipe needs an image: see flash_once/conftest.py.
collect_ignore = ["qemu", "flash_once", "bootloader"]


def pytest_hil_board_acquired(board: Board, config: pytest.Config) -> None:
    """Once per board and session, before its first test: switch it on (a real lab might flash it here)."""
    if "power" in board.resources:
        board.get(Power, "power").on()


def pytest_hil_after_test(board: Board, item: pytest.Item, report: pytest.TestReport) -> None:
    """After a failed test, add what the board's power switch says to the report."""
    if report.failed and "power" in board.resources:
        state = board.get(Power, "power").state()
        report.sections.append(("hil", f"board {board.name}: power {'on' if state else 'off'}"))
