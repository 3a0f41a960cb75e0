"""Typed drivers: a board's resources by interface (`board.get(Power)`), drivers, boards and stores
as context managers whose close runs once however often it is called."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_hil.board import Board
from pytest_hil.interfaces import Console, DriverContext, Gpio, Power
from pytest_hil.leases import Holder, open_store
from tests.conftest import REPO, MakeBoard

RESOURCES = """
power: {driver: sim-power}
console: {driver: sim-console}
aux: {driver: sim-console}
"""


def test_get_finds_the_one_driver_of_an_interface_or_the_named_one(make_board: MakeBoard) -> None:
    board = make_board(RESOURCES)
    power = board.get(Power)
    assert isinstance(power, Power) and power is board.resource("power")
    assert board.get(Console, "aux") is board.resource("aux")


@pytest.mark.parametrize(
    ("interface", "name", "error", "message"),
    [
        (Console, None, KeyError, "board b has several Console resources (console, aux): name one"),
        (Gpio, None, KeyError, "board b has no Gpio resource"),
        (Power, "aux", TypeError, "board b, resource aux (sim-console) is not a Power"),
        (len, None, TypeError, "board.get() takes a driver class such as Power, not <built-in function len>"),
    ],
)
def test_get_says_why_it_cannot(
    make_board: MakeBoard, interface: object, name: str | None, error: type[Exception], message: str
) -> None:
    board = make_board(RESOURCES)
    with pytest.raises(error) as raised:
        board.get(interface, name)
    assert message in str(raised.value)


class Counting(Power):
    kind = "counting"
    closed: list[str]

    def on(self) -> None: ...
    def off(self) -> None: ...
    def state(self) -> bool | None:
        return None

    def close(self) -> None:
        self.closed.append("base")


class CountingChild(Counting):
    def close(self) -> None:
        self.closed.append("child")
        super().close()


def test_a_drivers_close_runs_once_however_often_it_is_called(tmp_path: Path) -> None:
    from pytest_hil.console.log import BoardLogs

    driver = CountingChild(None, DriverContext("b", "power", tmp_path, {}, BoardLogs("b")))
    driver.closed = []
    with driver as entered:
        assert entered is driver
    driver.close()
    driver.close()
    assert driver.closed == ["child", "base"]  # each class's own close once, through super() too


def test_real_drivers_boards_and_stores_close_twice_without_harm(make_board: MakeBoard, tmp_path: Path) -> None:
    board = make_board(RESOURCES)
    board.get(Power).on()
    board.get(Console, "console").expect("login: ", timeout=10)
    with board:
        pass
    assert board.close() == []  # closed already: nothing left to close, nothing fails
    for driver in (board.resource("console"), board.resource("power")):  # made afresh after the close
        driver.close()
        driver.close()
    board.close()
    url = f"sqlite://{tmp_path}/leases.db"
    with open_store(url) as store:
        grant = store.acquire([["b"]], Holder("ann", "desk", 1))
        store.release(grant.token)
    store.close()
    store.close()


def test_the_examples_and_the_readme_driver_type_check_without_casts_or_ignores(tmp_path: Path) -> None:
    text = (REPO / "README.md").read_text()
    start = text.index("# my_pdu/plugin.py")
    (tmp_path / "my_pdu_plugin.py").write_text(text[start : text.index("```", start)])
    examples = REPO / "conftest_examples"
    assert "type: ignore" not in "".join(path.read_text() for path in examples.rglob("*.py"))
    assert "cast(" not in "".join(path.read_text() for path in examples.rglob("*.py"))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--ignore-missing-imports", str(tmp_path / "my_pdu_plugin.py")],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout


def test_board_is_typed_in_the_package(make_board: MakeBoard) -> None:
    import pytest_hil

    assert pytest_hil.Board is Board
