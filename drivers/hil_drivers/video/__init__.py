"""Video: frames from HDMI capture (ustreamer) or any snapshot URL, compared by perceptual hash."""

from __future__ import annotations

from collections.abc import Sequence

from hil_drivers.video.http import HttpSnapshot, Ustreamer
from pytest_hil import hookimpl
from pytest_hil.interfaces import Driver


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    return [HttpSnapshot, Ustreamer]
