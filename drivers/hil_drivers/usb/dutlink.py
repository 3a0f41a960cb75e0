"""`dutlink`: Jumpstarter's DUTLink test harness as one resource: the board's power (with a meter), its
storage mux and its console.

Power and the mux are vendor control requests to the harness's control interface (class 0xff,
subclass 1, protocol 1): Power (1) with Off/On, Storage (2) with Off/Host/DUT, Refresh (0) then Read
(4) for the meter's "1.23W 5.00V 0.25A". The board's console is the harness's second USB serial port
(interface 2), found in /dev/serial/by-id by the harness's serial number.
"""

from __future__ import annotations

import os
import re
import termios
import time
import tty
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil_drivers.usb.lookup import UsbMatchOptions, describe, find_one, load_backend
from pytest_hil.console.byte_streams import FdStream
from pytest_hil.console.stream_console import StreamConsole
from pytest_hil.errors import DriverError
from pytest_hil.images.flash import flash, read_back, wait_for
from pytest_hil.interfaces import DriverContext, Power, Storage

#: bmRequestType of vendor requests to an interface, out and in.
VENDOR_OUT, VENDOR_IN = 0x41, 0xC1
REFRESH, POWER, STORAGE, READ = 0, 1, 2, 4
POWER_OFF, POWER_ON = 0, 1
STORAGE_OFF, STORAGE_HOST, STORAGE_DUT = 0, 1, 2
READ_VERSION, READ_POWER = 0, 1
#: The control interface's class, subclass and protocol.
CONTROL_INTERFACE = (0xFF, 0x01, 0x01)
METER = re.compile(r"\s*(-?[\d.]+)W\s+(-?[\d.]+)V\s+(-?[\d.]+)A\s*")
BAUD_RATES = {
    rate: getattr(termios, f"B{rate}") for rate in (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
}


@dataclass(frozen=True)
class PowerReading:
    """What the harness's meter reads on the board's supply."""

    watts: float
    volts: float
    amps: float


@dataclass(frozen=True, kw_only=True)
class DutlinkOptions(UsbMatchOptions):
    vendor: int | None = field(default=0x2B23, metadata={"help": "idVendor (DUTLink: 0x2b23)", "min": 0, "max": 0xFFFF})
    product: int | None = field(
        default=0x1012, metadata={"help": "idProduct (DUTLink: 0x1012)", "min": 0, "max": 0xFFFF}
    )
    storage_device: Path | None = field(
        default=None, metadata={"help": "the block device the mux shows the host, e.g. /dev/disk/by-id/usb-..."}
    )
    console: Path | None = field(
        default=None, metadata={"help": "the board's console tty (default: found by serial under by_id)"}
    )
    by_id: Path = field(
        default=Path("/dev/serial/by-id"), metadata={"help": "where serial ports are named by USB serial number"}
    )
    baudrate: int = field(default=115200, metadata={"help": "the board's UART speed"})
    wait: float = field(default=15.0, metadata={"help": "seconds for the storage to enumerate on the host", "min": 0})
    timeout: float = field(default=30.0, metadata={"help": "default expect timeout in seconds", "above": 0})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.baudrate not in BAUD_RATES:
            raise ValueError(f"baudrate: {self.baudrate}: one of {', '.join(map(str, BAUD_RATES))}")


class DutlinkStorage:
    """The harness's storage mux under the names a mux has (`dutlink.storage.off()` disconnects the
    medium, where `dutlink.off()` cuts the board's power)."""

    def __init__(self, harness: Dutlink) -> None:
        self._harness = harness

    def host(self) -> None:
        self._harness.host()

    def dut(self) -> None:
        self._harness.dut()

    def off(self) -> None:
        self._harness.storage_off()

    def write(self, image: str | Path, verify: bool = False) -> None:
        self._harness.write(image, verify)

    def read(self, dest: str | Path, size: int) -> None:
        self._harness.read(dest, size)


class Dutlink(StreamConsole[DutlinkOptions], Power[DutlinkOptions], Storage[DutlinkOptions]):
    """A DUTLink: power (`on`, `off`, `read()` of the meter), storage mux (`host`, `dut`,
    `storage_off`, `write`, `read`) and the board's console, in one resource."""

    kind = "dutlink"
    Options = DutlinkOptions

    def __init__(self, options: DutlinkOptions, context: DriverContext) -> None:
        backend = load_backend(context, options.backend)
        harness = find_one(context, options, backend, "DUTLink")
        super().__init__(options, context, timeout=options.timeout)
        self.harness = harness
        self.name = describe(harness)  # as found: a harness that went away has no serial to read
        self.interface = self._control_interface()
        self.storage = DutlinkStorage(self)
        try:
            self.attach(FdStream(self._open_console()))
        except DriverError:
            super().close()
            raise

    # USB

    def _control_interface(self) -> int:
        import usb.core
        import usb.util

        try:
            found = usb.util.find_descriptor(
                self.harness.get_active_configuration(),
                custom_match=lambda interface: (
                    interface.bInterfaceClass, interface.bInterfaceSubClass, interface.bInterfaceProtocol
                ) == CONTROL_INTERFACE,
            )  # fmt: skip
        except usb.core.USBError as error:
            raise DriverError(f"{self.context}: DUTLink {self.name}: {error}") from None
        if found is None:
            raise DriverError(
                f"{self.context}: DUTLink {self.name} has no control interface (ff/01/01): update its firmware"
            )
        return int(found.bInterfaceNumber)

    def _request(self, request: int, value: int, what: str, length: int | None = None) -> bytes:
        import usb.core

        try:
            if length is None:
                self.harness.ctrl_transfer(VENDOR_OUT, request, value, self.interface, None, timeout=2000)
                return b""
            return bytes(self.harness.ctrl_transfer(VENDOR_IN, request, value, self.interface, length, timeout=2000))
        except usb.core.USBError as error:
            raise DriverError(f"{self.context}: DUTLink {self.name}: {what}: {error}") from None

    # power

    def on(self) -> None:
        self.context.logs.power_event(f"[hil] power on ({self.kind} {self.name})")
        self._request(POWER, POWER_ON, "power on")

    def off(self) -> None:
        self.context.logs.power_event(f"[hil] power off ({self.kind} {self.name})")
        self._request(POWER, POWER_OFF, "power off")

    def state(self) -> bool | None:
        return None  # the harness switches its relay without telling its position

    def read(self, dest: str | Path | None = None, size: int | None = None) -> Any:
        """The meter (`read()` -> PowerReading), or, with `dest` and `size`, the storage read back
        into `dest` (the Storage interface's `read`)."""
        if dest is not None:
            if size is None:
                raise TypeError("read(dest, size): give the number of bytes to read back")
            return self._read_storage(dest, size)
        self._request(REFRESH, 0, "refresh the meter")
        text = self._request(READ, READ_POWER, "read the meter", 128).decode("ascii", "replace")
        found = METER.fullmatch(text.rstrip("\x00"))
        if found is None:
            raise DriverError(f"{self.context}: DUTLink {self.name}: the meter answered {text!r}")
        return PowerReading(float(found[1]), float(found[2]), float(found[3]))

    def version(self) -> str:
        """The harness firmware's version string."""
        return self._request(READ, READ_VERSION, "read the version", 128).decode("ascii", "replace").rstrip("\x00")

    # storage

    def _storage(self, value: int, side: str) -> None:
        self.context.logs.note(f"[hil] storage -> {side} ({self.kind} {self.name})")
        self._request(STORAGE, value, f"storage to the {side}")

    def host(self) -> None:
        self._storage(STORAGE_HOST, "host")

    def dut(self) -> None:
        self._storage(STORAGE_DUT, "board")

    def storage_off(self) -> None:
        """Disconnect the medium from both sides."""
        self._storage(STORAGE_OFF, "neither side")

    def _device(self) -> Path:
        if self.options.storage_device is None:
            raise DriverError(f"{self.context}: storage_device: name the block device the DUTLink shows the host")
        return wait_for(self.context, self.options.storage_device, self.options.wait)

    def write(self, image: str | Path, verify: bool = False) -> None:
        self.host()
        flash(self.context, Path(image), self._device(), verify=verify, skip_zeros=False)
        os.sync()  # the mux's cache reaches the medium before it leaves the host
        self.dut()

    def _read_storage(self, dest: str | Path, size: int) -> None:
        self.host()
        try:
            read_back(self.context, self._device(), Path(dest), size)
        finally:
            self.dut()

    # console

    def _console_path(self) -> Path:
        if self.options.console is not None:
            return self.options.console
        serial = self.options.serial or _serial_of(self.harness)
        if not serial:
            raise DriverError(f"{self.context}: DUTLink {self.name} has no serial number: give console:")
        found = sorted(self.options.by_id.glob(f"usb-*_{glob_escape(serial)}-if02*"))
        if not found:
            raise DriverError(
                f"{self.context}: no console for DUTLink serial {serial} in {self.options.by_id}"
                " (usb-..._SERIAL-if02): is it plugged in? or give console:"
            )
        return found[0]

    def _open_console(self) -> int:
        path = self._console_path()
        deadline = time.monotonic() + 2.0
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
                break
            except OSError as error:
                if time.monotonic() >= deadline:
                    raise DriverError(f"{self.context}: cannot open the console {path}: {error.strerror}") from None
                time.sleep(0.1)
        try:
            tty.setraw(fd)
            attributes = termios.tcgetattr(fd)
            attributes[4] = attributes[5] = BAUD_RATES[self.options.baudrate]
            termios.tcsetattr(fd, termios.TCSANOW, attributes)
        except termios.error as error:
            os.close(fd)
            raise DriverError(f"{self.context}: console {path} is not a serial port: {error}") from None
        return fd

    def close(self) -> None:
        import usb.util

        super().close()
        usb.util.dispose_resources(self.harness)


def _serial_of(device: Any) -> str | None:
    try:
        return str(device.serial_number) if device.serial_number else None
    except (ValueError, OSError):
        return None


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)
