"""Choosing boards: selectors, names, every matching board, and what happens when none fits."""

import pytest

from pytest_hil import Board
from pytest_hil.interfaces import Console, Shell


@pytest.mark.hil("arch=arm64")
def test_by_selector(board: Board) -> None:
    assert board.labels["arch"] == "arm64"


@pytest.mark.hil("@arm")  # a named selector from the lab file's `selectors:`
def test_by_named_selector(board: Board) -> None:
    assert board.name == "sim-a"


@pytest.mark.hil(board="sim-b")
def test_by_name(board: Board) -> None:
    assert board.name == "sim-b"


@pytest.mark.hil("family=simboard", each=True)  # ids: test_on_every_board[sim-a], [sim-b]
def test_on_every_board(board: Board, shell: Shell) -> None:
    assert shell.run("uname -s").stdout == "Linux\n"


@pytest.mark.hil(roles={"dut": "arch=arm64", "peer": "arch=riscv64"})
def test_two_boards(boards: dict[str, Board]) -> None:
    assert {role: board.name for role, board in boards.items()} == {"dut": "sim-a", "peer": "sim-b"}


@pytest.mark.hil("family=simboard")
def test_needs_jtag(jtag: Console) -> None:
    """No board in the example lab has a `jtag`: this test is skipped, and the reason says so."""


def test_not_a_hil_test() -> None:
    """Tests that ask for no board run as usual, lab or no lab."""
    assert sum([1, 2, 3]) == 6
