"""Recipe: flash each board once per session, the first time a test gets it.

`pytest_hil_board_acquired` runs once per board and session, before the board's first test, so
it is where a lab puts the firmware under test onto the board. Run with:
    pytest --hil-lab=conftest_examples/lab.yaml conftest_examples/flash_once --firmware=IMAGE
IMAGE may be raw, .gz, .xz, .bz2 or .zst; a `.bmap` beside it is used. Flashing shows a progress
bar when it takes more than a few seconds, and every step lands in the board's console log.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_hil import Board
from pytest_hil.interfaces import Power, Storage


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--firmware", type=Path, required=True, help="image to flash to every board before its tests")


def pytest_hil_board_acquired(board: Board, config: pytest.Config) -> None:
    """Power off, write the image (read back to be sure), boot it."""
    power, storage = board.interface("power"), board.interface("storage")
    assert isinstance(power, Power)
    assert isinstance(storage, Storage)
    power.off()
    storage.write(config.getoption("firmware"), verify=True)
    power.on()
