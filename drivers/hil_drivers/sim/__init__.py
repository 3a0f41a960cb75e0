"""The simulated lab: boards that boot, log in and run commands with no hardware attached."""

from __future__ import annotations

from collections.abc import Sequence

from hil_drivers.sim.console import SimConsole
from hil_drivers.sim.power import SimPower
from hil_drivers.sim.ssh import SimSsh
from hil_drivers.sim.storage import SimStorage
from hil_drivers.sim.video import SimVideo
from pytest_hil import hookimpl
from pytest_hil.interfaces import Driver


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    return [SimPower, SimConsole, SimStorage, SimVideo, SimSsh]
