"""Resource references: an option naming another resource of the board (`{driver: uboot, console: vm,
power: vm}`), checked by the loader with FILE:LINE errors, served by the one driver of that resource."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_hil import hookimpl
from pytest_hil.board import Board
from pytest_hil.errors import LabError
from pytest_hil.interfaces import Console, Driver, DriverContext, Power
from pytest_hil.lab import load_lab
from pytest_hil.registry import default_registry


@dataclass(frozen=True)
class PairOptions:
    console: str = field(metadata={"help": "the console it watches", "resource": "console"})
    power: str | None = field(default=None, metadata={"help": "the switch it cycles", "resource": "power"})


class Pair(Driver[PairOptions]):
    """Uses a console and a power switch of its board, as a bootloader driver does."""

    kind = "test-pair"
    Options = PairOptions

    def __init__(self, options: PairOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.console = context.referenced(options.console, Console)
        self.power = context.referenced(options.power, Power) if options.power else None


@dataclass(frozen=True)
class LinkOptions:
    to: str = field(metadata={"help": "any resource of the board", "resource": True})


class Link(Driver[LinkOptions]):
    kind = "test-link"
    Options = LinkOptions


class _TestDrivers:
    @hookimpl
    def hil_drivers(self) -> Sequence[type[Driver]]:
        return [Pair, Link]


@pytest.fixture(autouse=True)
def _lent_drivers() -> Iterator[None]:
    """test-pair and test-link, known to lab files for this module's tests only."""
    lent = _TestDrivers()
    default_registry().register(lent, "tests")
    yield
    default_registry().unregister(lent)


LAB = """\
version: 1
boards:
  b:
    resources:
      power: {{driver: sim-power, boot_time: 0.1}}
      console: {{driver: sim-console, timeout: 5}}
      {extra}
"""


def lab_with(write_lab: Callable[..., Path], extra: str) -> Path:
    return write_lab(LAB.format(extra=extra))


def test_a_reference_gets_the_one_driver_of_that_resource(write_lab: Callable[..., Path], tmp_path: Path) -> None:
    path = lab_with(write_lab, "boot: {driver: test-pair, console: console, power: power}")
    lab = load_lab(path)
    with Board(lab.boards["b"], tmp_path) as board:
        pair = board.resource("boot")
        assert isinstance(pair, Pair)
        assert pair.console is board.resource("console") and pair.power is board.resource("power")
        assert board.created() == ["console", "power", "boot"]  # used ones first: closed after their user


@pytest.mark.parametrize(
    ("extra", "line", "said"),
    [
        ("boot: {driver: test-pair, console: uart}", 7,
         "boards.b.resources.boot.console: no resource called 'uart' on this board (it has: power, console)"),
        ("boot: {driver: test-pair, console: power}", 7,
         "boards.b.resources.boot.console: 'power' is a sim-power resource (power), not a console"),
        ("boot: {driver: test-link, to: boot}", 7, "boards.b.resources.boot: resource references go round in a circle: boot -> boot"),
    ],
)  # fmt: skip
def test_bad_references_are_lab_errors(write_lab: Callable[..., Path], extra: str, line: int, said: str) -> None:
    path = lab_with(write_lab, extra)
    with pytest.raises(LabError) as failure:
        load_lab(path)
    assert f"{path}:{line}: {said}" in str(failure.value)


def test_a_circle_of_several_is_said_once(write_lab: Callable[..., Path]) -> None:
    path = lab_with(
        write_lab,
        "a: {driver: test-link, to: b}\n      b: {driver: test-link, to: c}\n      c: {driver: test-link, to: a}",
    )
    with pytest.raises(LabError) as failure:
        load_lab(path)
    text = str(failure.value)
    assert text.count("go round in a circle") == 1 and "a -> b -> c -> a" in text


def test_a_driver_made_outside_a_board_says_so(tmp_path: Path) -> None:
    from pytest_hil.console.log import BoardLogs

    context = DriverContext("b", "boot", tmp_path, {}, BoardLogs("b"))
    with pytest.raises(
        LookupError, match="board b, resource boot: resource console: this driver was made outside a board"
    ):
        Pair(PairOptions(console="console"), context)
