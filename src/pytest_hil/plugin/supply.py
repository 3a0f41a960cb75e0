"""Where a session's boards come from: the seam between the fixtures and the ways of getting boards.

A plain run leases its boards itself (`plugin/leasing.py`). Another plugin may supply them instead by
setting `HilSession.supply` in its `pytest_configure`: `--hil-dist` gives each xdist worker the board
its controller leased (`dist/worker.py`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_hil.board import Board
    from pytest_hil.plugin.selection import Plan


class BoardSupply(ABC):
    """Gives each test the boards that serve it, and gives them up at the session's end."""

    #: Whether this process may drive boards attached to a lab host (`host:`): only a process running
    #: there may (a --hil-dist worker on its lab host); a plain run would open the lab host's device
    #: paths on this machine.
    serves_lab_host_boards: bool = False

    @abstractmethod
    def serving(self, item: pytest.Item, plan: Plan) -> dict[str, Board]:
        """Role -> board for `item` (one entry, "board", for a single-board test), ready for it; or
        `pytest.skip`/`pytest.fail` with one line saying why it cannot be served."""

    def release(self, broken: Mapping[str, str]) -> list[BaseException]:
        """At the session's end, after the boards' drivers closed: give the boards up (`broken`: board
        -> why it could not serve); the errors met on the way."""
        return []
