"""`sdwire`: an SDWire SD-card mux (FTDI FT200X inside), switched through pyusb, written as a block device.

The mux is an FTDI chip in CBUS bit-bang mode: CBUS0 high gives the card to the host (its card reader
then enumerates as a block device, seconds later), low gives it to the board. `write` does what a
person would: card to host, wait for the device, write, sync, card back to the board.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from hil_drivers.usb.lookup import UsbMatchOptions, describe, find_one, load_backend
from pytest_hil.errors import DriverError
from pytest_hil.images.flash import flash, read_back, wait_for
from pytest_hil.interfaces import DriverContext, Storage

#: FTDI vendor request that sets the bit mode; wValue = mode << 8 | pin mask, wIndex = interface A.
SET_BITMODE, READ_PINS, VENDOR_OUT, VENDOR_IN, INTERFACE_A = 0x0B, 0x0C, 0x40, 0xC0, 1
CBUS_BITBANG = 0x20
#: CBUS0 as output (high nibble) driven high (host) or low (board).
TO_HOST, TO_DUT = 0xF1, 0xF0


@dataclass(frozen=True, kw_only=True)
class SdWireOptions(UsbMatchOptions):
    device: Path = field(metadata={"help": "the card reader's block device, e.g. /dev/disk/by-id/usb-...-0:0"})
    vendor: int | None = field(default=0x04E8, metadata={"help": "idVendor (SDWire: 0x04e8)", "min": 0, "max": 0xFFFF})
    product: int | None = field(
        default=0x6001, metadata={"help": "idProduct (SDWire: 0x6001)", "min": 0, "max": 0xFFFF}
    )
    wait: float = field(
        default=15.0, metadata={"help": "seconds for the card reader to enumerate on the host", "min": 0}
    )
    settle: float = field(default=0.5, metadata={"help": "seconds the card rests between switches", "min": 0})


class SdWire(Storage[SdWireOptions]):
    """An SD card shared by host and board through an SDWire."""

    kind = "sdwire"
    Options = SdWireOptions

    def __init__(self, options: SdWireOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.backend = load_backend(context, options.backend)
        self.mux = find_one(context, options, self.backend, "SDWire")

    def _select(self, value: int, side: str) -> None:
        import usb.core

        self.context.logs.note(f"[hil] sd card -> {side} ({self.kind} {describe(self.mux)})")
        try:
            self.mux.ctrl_transfer(VENDOR_OUT, SET_BITMODE, CBUS_BITBANG << 8 | value, INTERFACE_A, None, timeout=2000)
            pins = self.mux.ctrl_transfer(VENDOR_IN, READ_PINS, 0, INTERFACE_A, 1, timeout=2000)
        except usb.core.USBError as error:
            raise DriverError(f"{self.context}: SDWire {describe(self.mux)}: {error}") from None
        if pins[0] & 0x1 != value & 0x1:
            raise DriverError(f"{self.context}: SDWire {describe(self.mux)} did not switch to the {side}")
        time.sleep(self.options.settle)

    def host(self) -> None:
        self._select(TO_HOST, "host")

    def dut(self) -> None:
        self._select(TO_DUT, "board")

    def write(self, image: str | Path, verify: bool = False) -> None:
        self.host()
        device = wait_for(self.context, self.options.device, self.options.wait)
        flash(self.context, Path(image), device, verify=verify, skip_zeros=False)
        os.sync()  # the reader's cache reaches the card before the card leaves the host
        self.dut()

    def read(self, dest: str | Path, size: int) -> None:
        self.host()
        try:
            read_back(self.context, wait_for(self.context, self.options.device, self.options.wait), Path(dest), size)
        finally:
            self.dut()

    def close(self) -> None:
        import usb.util

        usb.util.dispose_resources(self.mux)
