"""The simulated lab: boards that boot, log in and run commands with no hardware attached.

Each kind's module registers itself (its entry point names that module), so a lab naming only
`sim-power` and `sim-console` imports neither the video (Pillow) nor the SSH (paramiko) parts; this
family module registers them all, importing them when asked.
"""

from __future__ import annotations

from collections.abc import Sequence

from pytest_hil import hookimpl
from pytest_hil.interfaces import Driver


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    from hil_drivers.sim.console import SimConsole
    from hil_drivers.sim.power import SimPower
    from hil_drivers.sim.ssh import SimSsh
    from hil_drivers.sim.storage import SimStorage
    from hil_drivers.sim.video import SimVideo

    return [SimPower, SimConsole, SimStorage, SimVideo, SimSsh]
