"""Hooks pytest-hil calls during a session; implement them in conftest.py or a plugin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_hil.board import Board


def pytest_hil_board_acquired(board: Board, config: pytest.Config) -> None:
    """A board was taken for this session, just before its first test (e.g. flash firmware once)."""


def pytest_hil_board_released(board: Board, config: pytest.Config) -> None:
    """A board is given back at the end of the session, before its drivers close."""


def pytest_hil_after_test(board: Board, item: pytest.Item, report: pytest.TestReport) -> None:
    """A test on `board` finished its call phase (or failed in setup); the board is still usable.

    `report` is that phase's report: collect extra logs from the board when `report.failed`.
    """


@pytest.hookspec(firstresult=True)
def pytest_hil_select_board(item: pytest.Item, candidates: Sequence[Board]) -> Board | str | None:
    """Choose the board for `item` among `candidates` (all able to serve it, in lab order).

    Return a board or its name; None leaves the choice to pytest-hil. The first answer wins.
    """
