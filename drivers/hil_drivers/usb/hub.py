"""`usb-hub-power`: power of one port of a USB hub that switches its ports, as uhubctl does.

Hub-class requests through pyusb: SET_FEATURE / CLEAR_FEATURE PORT_POWER on the port, its state read
back with GET_STATUS. The hub descriptor says whether the hub switches ports one by one (others
switch all ports together or not at all; the driver refuses those, since it would cut other boards).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hil_drivers.power.switch import Switch
from hil_drivers.usb.lookup import UsbMatchOptions, describe, find_one, load_backend
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext

HUB_CLASS = 0x09
GET_STATUS, CLEAR_FEATURE, SET_FEATURE, GET_DESCRIPTOR = 0x00, 0x01, 0x03, 0x06
PORT_POWER = 8
#: bmRequestType: class request to a port ("other"), out and in; class request to the hub, in.
TO_PORT, FROM_PORT, FROM_HUB = 0x23, 0xA3, 0xA0
HUB_DESCRIPTOR, SUPERSPEED_HUB_DESCRIPTOR = 0x29, 0x2A
#: wPortStatus bit that says the port has power: USB 2 and USB 3 hubs differ.
POWER_BIT = {2: 0x0100, 3: 0x0200}


@dataclass(frozen=True, kw_only=True)
class UsbHubPowerOptions(UsbMatchOptions):
    port: int = field(metadata={"help": "the hub's port the board (or its supply) is plugged into, from 1"})
    allow_ganged: bool = field(
        default=False, metadata={"help": "switch a hub that powers all its ports together (cuts every port)"}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.port < 1:
            raise ValueError(f"port: {self.port} is not a port number (they start at 1)")


class UsbHubPower(Switch[UsbHubPowerOptions]):
    """Switches a hub port's VBUS; the state is what the hub reports for the port."""

    kind = "usb-hub-power"
    Options = UsbHubPowerOptions

    def __init__(self, options: UsbHubPowerOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.backend = load_backend(context, options.backend)
        self.hub = find_one(context, options, self.backend, "USB hub", bDeviceClass=HUB_CLASS)
        self.usb3 = self.hub.bcdUSB >= 0x0300
        ports, switching = self._hub_descriptor()
        if options.port > ports:
            raise DriverError(f"{context}: port {options.port}: hub {describe(self.hub)} has {ports} ports")
        if switching != "per-port" and not (switching == "ganged" and options.allow_ganged):
            raise DriverError(
                f"{context}: hub {describe(self.hub)} switches power {switching}, not port by port"
                + (" (allow_ganged: true to switch it anyway)" if switching == "ganged" else "")
            )

    def describe(self) -> str:
        return f"{self.kind} {describe(self.hub)} port {self.options.port}"

    def _hub_descriptor(self) -> tuple[int, str]:
        """Number of ports and how the hub switches power: per-port, ganged or never."""
        kind = SUPERSPEED_HUB_DESCRIPTOR if self.usb3 else HUB_DESCRIPTOR
        descriptor = self._control(FROM_HUB, GET_DESCRIPTOR, kind << 8, 0, 12)
        if len(descriptor) < 5:
            raise DriverError(f"{self.context}: hub {describe(self.hub)} sent a short hub descriptor")
        characteristics = descriptor[3] | descriptor[4] << 8
        switching = {0: "ganged", 1: "per-port"}.get(characteristics & 0x3, "never")
        return descriptor[2], switching

    def _control(self, request_type: int, request: int, value: int, index: int, data: Any) -> Any:
        import usb.core

        try:
            return self.hub.ctrl_transfer(request_type, request, value, index, data, timeout=2000)
        except usb.core.USBError as error:
            raise DriverError(f"{self.context}: hub {describe(self.hub)}: {error}") from None

    def _switch(self, on: bool) -> bool | None:
        self._control(TO_PORT, SET_FEATURE if on else CLEAR_FEATURE, PORT_POWER, self.options.port, None)
        return None  # read back by _read

    def _read(self) -> bool | None:
        status = self._control(FROM_PORT, GET_STATUS, 0, self.options.port, 4)
        return bool((status[0] | status[1] << 8) & POWER_BIT[3 if self.usb3 else 2])

    def close(self) -> None:
        import usb.util

        usb.util.dispose_resources(self.hub)
