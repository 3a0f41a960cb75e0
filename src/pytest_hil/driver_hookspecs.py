"""Hooks a driver package implements; register the module under the `pytest_hil.drivers` entry points."""

from __future__ import annotations

from collections.abc import Sequence

import pluggy

from pytest_hil.interfaces import Driver

hookspec = pluggy.HookspecMarker("pytest_hil")


@hookspec
def hil_drivers() -> Sequence[type[Driver]]:
    """Return the driver classes this package provides.

    Called once when the registry loads; every class needs a unique `kind`.
    """
    raise NotImplementedError
