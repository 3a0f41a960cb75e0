"""The worker side of `--hil-dist` when its board broke.

xdist's worker always holds the next test before it runs the current one, and cannot give it back.
So a worker whose board broke does not skip the tests it still holds: it closes its drivers and leaves
before running the next board test. xdist then takes that worker down (and starts a replacement, which
gets no tests); the scheduler puts every test the worker held back in the queue for workers whose
boards work.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_hil.plugin.session import HilSession

#: The exit status of a worker that left because its board broke.
BOARD_BROKE = 75


def leave(session: HilSession) -> None:
    """Close the board's drivers and end this worker process now."""
    session.release_all()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(BOARD_BROKE)
