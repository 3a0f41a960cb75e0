"""`usb`: a USB device of the board that comes and goes (DFU or mass-storage mode after a reset, a
gadget after boot): find it, wait for it to appear or to leave."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from hil_drivers.usb.lookup import UsbMatchOptions, bus_listing, describe, load_backend, matching, wanted
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext, Usb


@dataclass(frozen=True, kw_only=True)
class UsbOptions(UsbMatchOptions):
    poll: float = field(
        default=0.1, metadata={"help": "seconds between two looks at the bus while waiting", "above": 0}
    )


class UsbDevice(Usb[UsbOptions]):
    """Looks the device up with pyusb each time: a device that re-enumerates is a new object."""

    kind = "usb"
    Options = UsbOptions

    def __init__(self, options: UsbOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.backend = load_backend(context, options.backend)

    def find(self) -> Any:
        """The matching device (pyusb's `usb.core.Device`) now on the bus, or None; several matching
        devices are an error listing them (add serial or path to the lab file)."""
        found = list(matching(self.options, self.backend))
        if len(found) > 1:
            listed = "; ".join(describe(device) for device in found)
            raise DriverError(
                f"{self.context}: {len(found)} USB devices match {wanted(self.options)}: {listed} (add serial or path)"
            )
        return found[0] if found else None

    def wait_present(self, timeout: float = 10.0) -> Any:
        """The device once it is there; an error listing the bus when it does not come in time."""
        deadline = time.monotonic() + timeout
        while True:
            device = self.find()
            if device is not None:
                self.context.logs.note(f"[hil] usb {describe(device)} present")
                return device
            if time.monotonic() >= deadline:
                raise DriverError(
                    f"{self.context}: no USB device {wanted(self.options)} appeared within {timeout:g} s; "
                    f"on the bus:\n  {bus_listing(self.backend)}"
                )
            time.sleep(self.options.poll)

    def wait_absent(self, timeout: float = 10.0) -> None:
        """Return once no matching device is on the bus; an error naming it when it stays."""
        deadline = time.monotonic() + timeout
        while True:
            device = self.find()
            if device is None:
                self.context.logs.note(f"[hil] usb {wanted(self.options)} absent")
                return
            if time.monotonic() >= deadline:
                raise DriverError(f"{self.context}: USB device {describe(device)} still present after {timeout:g} s")
            time.sleep(self.options.poll)
