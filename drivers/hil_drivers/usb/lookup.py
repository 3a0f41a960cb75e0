"""Finding USB devices with pyusb: by vendor, product, serial or port path, with a chosen backend.

Every driver that talks USB (hub port power, SD muxes, presence checks) finds its device here, and
when the device is not there says what is on the bus instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pytest_hil.errors import DriverError, DriverUnavailable
from pytest_hil.interfaces import DriverContext

#: pyusb's backend modules, by the name the lab file uses.
BACKENDS = {"libusb1": "usb.backend.libusb1", "libusb0": "usb.backend.libusb0", "openusb": "usb.backend.openusb"}


@dataclass(frozen=True, kw_only=True)
class UsbMatchOptions:
    """How a lab file names one USB device; every option given must match."""

    vendor: int | None = field(default=None, metadata={"help": "idVendor, e.g. 0x04e8", "min": 0, "max": 0xFFFF})
    product: int | None = field(default=None, metadata={"help": "idProduct, e.g. 0x6001", "min": 0, "max": 0xFFFF})
    serial: str | None = field(default=None, metadata={"help": "iSerialNumber string"})
    path: str | None = field(default=None, metadata={"help": "bus and ports as in sysfs, e.g. 1-1.4"})
    backend: str = field(
        default="auto",
        metadata={"help": "pyusb backend: auto, libusb1, libusb0, openusb, or module:attribute of your own"},
    )

    def __post_init__(self) -> None:
        if self.path is not None and not _valid_path(self.path):
            raise ValueError(f"path: {self.path!r} is not a USB port path like 1-1.4 (bus-port.port...)")
        if ":" not in self.backend and self.backend not in ("auto", *BACKENDS):
            raise ValueError(f"backend: {self.backend!r} is none of auto, {', '.join(BACKENDS)}, module:attribute")


def _valid_path(path: str) -> bool:
    bus, _, ports = path.partition("-")
    return bus.isdigit() and bool(ports) and all(port.isdigit() for port in ports.split("."))


def load_backend(context: DriverContext, name: str) -> Any:
    """The pyusb backend called `name`; `module:attribute` names an object or a function returning one."""
    try:
        import usb.backend
    except ImportError:
        raise DriverUnavailable(f"{context}: pyusb is not installed (pip install 'pytest-hil[usb]')") from None
    if name == "auto":
        found = None
        for module in ("libusb1", "openusb", "libusb0"):
            found = importlib.import_module(BACKENDS[module]).get_backend()
            if found is not None:
                break
    elif name in BACKENDS:
        found = importlib.import_module(BACKENDS[name]).get_backend()
    else:
        module_name, _, attribute = name.partition(":")
        try:
            found = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise DriverError(f"{context}: backend {name}: {error}") from None
        if callable(found) and not isinstance(found, usb.backend.IBackend):
            found = found()
    if found is None:
        raise DriverUnavailable(
            f"{context}: no USB library for pyusb's {name} backend (Debian: apt-get install libusb-1.0-0)"
        )
    return found


def port_path(device: Any) -> str:
    """`1-1.4`: the device's bus and the ports from the root hub down."""
    ports = device.port_numbers or ()
    return f"{device.bus}-{'.'.join(str(port) for port in ports)}" if ports else f"{device.bus}-0"


def _serial(device: Any) -> str | None:
    try:
        serial = device.serial_number
    except (ValueError, OSError):  # no string descriptors, or no permission to read them
        return None
    return str(serial) if serial is not None else None


def describe(device: Any) -> str:
    """`1-1.4 04e8:6001 serial sd-wire_11` as a listing shows one device."""
    serial = _serial(device)
    return f"{port_path(device)} {device.idVendor:04x}:{device.idProduct:04x}" + (f" serial {serial}" if serial else "")


def matching(options: UsbMatchOptions, backend: Any, **descriptor: int) -> Iterator[Any]:
    """The devices on the bus that match the options (and the given descriptor fields)."""
    import usb.core

    fields = dict(descriptor)
    if options.vendor is not None:
        fields["idVendor"] = options.vendor
    if options.product is not None:
        fields["idProduct"] = options.product
    for device in usb.core.find(find_all=True, backend=backend, **fields):
        if options.path is not None and port_path(device) != options.path:
            continue
        if options.serial is not None and _serial(device) != options.serial:
            continue
        yield device


def wanted(options: UsbMatchOptions) -> str:
    """How the options read in an error: `04e8:6001 serial sd-wire_11`."""
    parts = []
    if options.vendor is not None or options.product is not None:
        vendor = "*" if options.vendor is None else f"{options.vendor:04x}"
        product = "*" if options.product is None else f"{options.product:04x}"
        parts.append(f"{vendor}:{product}")
    if options.serial is not None:
        parts.append(f"serial {options.serial}")
    if options.path is not None:
        parts.append(f"at {options.path}")
    return " ".join(parts) or "any device"


def find_one(context: DriverContext, options: UsbMatchOptions, backend: Any, what: str, **descriptor: int) -> Any:
    """The one matching device; an error listing the bus when there is none, or more than one."""
    found = list(matching(options, backend, **descriptor))
    if len(found) == 1:
        return found[0]
    if found:
        listed = "; ".join(describe(device) for device in found)
        raise DriverError(f"{context}: {len(found)} {what}s match {wanted(options)}: {listed} (add serial or path)")
    raise DriverError(f"{context}: no {what} {wanted(options)} on the bus; found:\n  {bus_listing(backend)}")


def bus_listing(backend: Any) -> str:
    """Every device on the bus, one per line (indented after the first), for error messages."""
    import usb.core

    present = [describe(device) for device in usb.core.find(find_all=True, backend=backend)]
    return "\n  ".join(present) if present else "(no USB devices at all)"
