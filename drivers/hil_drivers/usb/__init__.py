"""USB through pyusb: hub port power (USB hub class, YKUSH), the SDWire SD-card mux, the DUTLink harness,
and devices that come and go."""

from __future__ import annotations

from collections.abc import Sequence

from hil_drivers.usb.dutlink import Dutlink
from hil_drivers.usb.hub import UsbHubPower
from hil_drivers.usb.presence import UsbDevice
from hil_drivers.usb.sdwire import SdWire
from hil_drivers.usb.ykush import YkushPower
from pytest_hil import hookimpl
from pytest_hil.interfaces import Driver


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    return [UsbHubPower, YkushPower, SdWire, Dutlink, UsbDevice]
