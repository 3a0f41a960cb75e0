"""A USB bus for pyusb's own lookup code to run against: a backend (`usb.backend.IBackend`) whose
devices appear and vanish over time and answer control transfers as the hardware does: string
descriptors, a hub's class requests (descriptor, port power, port status), an FTDI chip's bit modes;
and interrupt transfers on a device's own endpoints (a YKUSH's HID reports), with the configuration,
interface and endpoint descriptors pyusb reads to find them.

Lab files reach a bus through the drivers' `backend: tests.usb_bus:BUS` option.
"""

from __future__ import annotations

import array
import errno
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import usb.backend
import usb.core


@dataclass(frozen=True)
class Report:
    """One interrupt transfer out to a device, as the device saw it."""

    device: str
    endpoint: int
    data: bytes


@dataclass(frozen=True)
class Transfer:
    """One control transfer as the device saw it."""

    device: str
    request_type: int
    request: int
    value: int
    index: int
    data: bytes


def _stall() -> usb.core.USBError:
    return usb.core.USBError("Pipe error", errno.EPIPE)


class VirtualDevice:
    """A device: descriptors, strings, and `control()` for standard requests; subclasses add theirs."""

    device_class = 0
    #: Its one configuration: (interface number, class, ((endpoint address, bmAttributes), ...)).
    interfaces: tuple[tuple[int, int, tuple[tuple[int, int], ...]], ...] = ()
    #: An interface's subclass and protocol, where they are not 0.
    interface_kinds: dict[int, tuple[int, int]] = {}  # noqa: RUF012 - read only

    def __init__(
        self,
        vendor: int,
        product: int,
        *,
        serial: str | None = None,
        name: str = "device",
        bus: int = 1,
        ports: tuple[int, ...] = (1,),
        address: int = 2,
        bcd_usb: int = 0x0200,
    ) -> None:
        self.vendor, self.product, self.serial, self.name = vendor, product, serial, name
        self.bus, self.ports, self.address, self.bcd_usb = bus, ports, address, bcd_usb
        self.strings = ["Virtual Devices", name] + ([serial] if serial else [])
        #: Interfaces a kernel driver holds (usbhid for a HID device) until detached.
        self.kernel_bound = {number for number, cls, _ in self.interfaces if cls == 3}

    def descriptor(self) -> SimpleNamespace:
        return SimpleNamespace(
            bLength=18,
            bDescriptorType=1,
            bcdUSB=self.bcd_usb,
            bDeviceClass=self.device_class,
            bDeviceSubClass=0,
            bDeviceProtocol=0,
            bMaxPacketSize0=64,
            idVendor=self.vendor,
            idProduct=self.product,
            bcdDevice=0x0100,
            iManufacturer=1,
            iProduct=2,
            iSerialNumber=3 if self.serial else 0,
            bNumConfigurations=1,
            address=self.address,
            bus=self.bus,
            port_number=self.ports[-1] if self.ports else 0,
            port_numbers=self.ports or None,  # a root hub has none
            speed=3,
        )

    def interrupt_out(self, endpoint: int, data: bytes) -> None:
        """Take an interrupt transfer from the host."""
        raise _stall()

    def interrupt_in(self, endpoint: int, length: int) -> bytes | None:
        """The next interrupt transfer to the host; None: nothing to send (the host times out)."""
        raise _stall()

    def control(self, request_type: int, request: int, value: int, index: int, data: bytes, length: int) -> bytes:
        """Answer a control transfer: the bytes of an IN request's data stage (b"" for OUT)."""
        if request_type == 0x80 and request == 0x06 and value >> 8 == 3:  # GET_DESCRIPTOR, string
            number = value & 0xFF
            if number == 0:
                return bytes([4, 3, 0x09, 0x04])  # one language: en-US
            if number > len(self.strings):
                raise _stall()
            text = self.strings[number - 1].encode("utf-16-le")
            return bytes([2 + len(text), 3]) + text
        raise _stall()


class VirtualHub(VirtualDevice):
    """A hub with `ports` downstream ports whose power it switches per port, ganged or never.

    `on_power(port, on)` is called when a port's power changes, so a test can plug in or pull out
    what hangs on that port, as cutting VBUS does.
    """

    device_class = 9

    def __init__(
        self,
        vendor: int = 0x2109,
        product: int = 0x2817,
        *,
        port_count: int = 4,
        switching: str = "per-port",
        on_power: Callable[[int, bool], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(vendor, product, name="USB2.0 Hub", **kwargs)
        self.port_count = port_count
        self.switching = switching
        self.powered = dict.fromkeys(range(1, port_count + 1), True)
        self.on_power = on_power

    def control(self, request_type: int, request: int, value: int, index: int, data: bytes, length: int) -> bytes:
        superspeed = self.bcd_usb >= 0x0300
        if request_type == 0xA0 and request == 0x06 and value >> 8 == (0x2A if superspeed else 0x29):
            characteristics = {"ganged": 0, "per-port": 1, "never": 2}[self.switching]
            return bytes([9, value >> 8, self.port_count, characteristics, 0, 50, 100, 0, 0xFF])[:length]
        if request_type == 0x23 and request in (0x01, 0x03) and value == 8:  # CLEAR/SET_FEATURE PORT_POWER
            if not 1 <= index <= self.port_count or self.switching == "never":
                raise _stall()
            on = request == 0x03
            targets = list(self.powered) if self.switching == "ganged" else [index]
            for port in targets:
                if self.powered[port] != on:
                    self.powered[port] = on
                    if self.on_power is not None:
                        self.on_power(port, on)
            return b""
        if request_type == 0xA3 and request == 0x00:  # GET_STATUS of a port
            if not 1 <= index <= self.port_count:
                raise _stall()
            status = (0x0200 if superspeed else 0x0100) if self.powered[index] else 0
            return status.to_bytes(2, "little") + bytes(2)
        return super().control(request_type, request, value, index, data, length)


class VirtualYkush(VirtualDevice):
    """A YEPKIT YKUSH: a hub whose downstream ports a HID interface switches. A 64-byte report on
    endpoint 0x01 carries the command (0x01-0x03 down, 0x11-0x13 up, 0x0A / 0x1A all, 0x21-0x23 a
    port's state, 0xF1 the port count); the answer comes on endpoint 0x81: status 1 (ok), then data.
    `silent` devices take reports and never answer; `on_power(port, on)` hears every change."""

    interfaces = ((0, 3, ((0x01, 0x03), (0x81, 0x03))),)  # HID, interrupt out and in

    def __init__(
        self,
        serial: str = "YK12345",
        product: int = 0xF2F7,
        port_count: int = 3,
        on_power: Callable[[int, bool], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(0x04D8, product, serial=serial, name="YKUSH", **kwargs)
        self.powered = dict.fromkeys(range(1, port_count + 1), True)
        self.on_power = on_power
        self.silent = False
        self.answers: list[bytes] = []

    def _power(self, ports: list[int], on: bool) -> None:
        for port in ports:
            if self.powered[port] != on:
                self.powered[port] = on
                if self.on_power is not None:
                    self.on_power(port, on)

    def interrupt_out(self, endpoint: int, data: bytes) -> None:
        if endpoint != 0x01 or len(data) != 64:
            raise _stall()
        command, ports = data[0], list(self.powered)
        if command in (0x0A, 0x1A):
            self._power(ports, command == 0x1A)
            answer = [1, command]
        elif command & 0xEF in ports:  # 0x0N down, 0x1N up
            self._power([command & 0x0F], bool(command & 0x10))
            answer = [1, command]
        elif command & 0xF0 == 0x20 and command & 0x0F in ports:
            port = command & 0x0F
            answer = [1, 0x10 + port if self.powered[port] else port]
        elif command == 0xF1:
            answer = [1, len(ports)]
        else:
            answer = [0, command]  # not understood
        if not self.silent:
            self.answers.append(bytes(answer + [0] * (64 - len(answer))))

    def interrupt_in(self, endpoint: int, length: int) -> bytes | None:
        if endpoint != 0x81:
            raise _stall()
        return self.answers.pop(0) if self.answers else None


class VirtualDutlink(VirtualDevice):
    """A DUTLink harness: two USB serial ports (CDC, interfaces 0-3), DFU (4) and its control
    interface (5: vendor class ff/01/01) answering Power, Storage, Refresh and Read as its firmware
    does. `on_storage(side)` hears the mux move ("off", "host", "dut")."""

    interfaces = (
        (0, 2, ((0x81, 0x03),)), (1, 10, ((0x02, 0x02), (0x82, 0x02))),
        (2, 2, ((0x83, 0x03),)), (3, 10, ((0x04, 0x02), (0x84, 0x02))),
        (4, 0xFE, ()), (5, 0xFF, ()),
    )  # fmt: skip
    interface_kinds = {4: (1, 1), 5: (1, 1)}  # noqa: RUF012

    def __init__(self, serial: str = "dl-0042", on_storage: Callable[[str], None] | None = None, **kwargs: Any):
        super().__init__(0x2B23, 0x1012, serial=serial, name="Jumpstarter", **kwargs)
        self.power = False
        self.storage = "off"
        self.on_storage = on_storage
        self.meter = (0.0, 0.0, 0.0)
        self.sampled = (0.0, 0.0, 0.0)  # what the last Refresh measured

    def control(self, request_type: int, request: int, value: int, index: int, data: bytes, length: int) -> bytes:
        if request_type in (0x41, 0xC1) and index != 5:
            raise _stall()  # a vendor request to another interface
        if request_type == 0x41 and request == 1 and value in (0, 1, 2, 3):  # Power: off, on, force off, force on
            self.power = value in (1, 3)
            return b""
        if request_type == 0x41 and request == 2 and value in (0, 1, 2):  # Storage: off, host, DUT
            self.storage = ("off", "host", "dut")[value]
            if self.on_storage is not None:
                self.on_storage(self.storage)
            return b""
        if request_type == 0x41 and request == 0:  # Refresh
            self.sampled = self.meter if self.power else (0.0, 0.0, 0.0)
            return b""
        if request_type == 0xC1 and request == 4 and value == 0:  # Read version
            return b"0.07-test"[:length]
        if request_type == 0xC1 and request == 4 and value == 1:  # Read power
            watts, volts, amps = self.sampled
            return f"{watts:.2f}W {volts:.2f}V {amps:.2f}A".encode()[:length]
        return super().control(request_type, request, value, index, data, length)


class VirtualSdWire(VirtualDevice):
    """An SDWire: an FTDI FT200X whose CBUS0 pin (in CBUS bit-bang mode) gives the card to the host
    (high) or the board (low). `on_select(host)` is called when the card changes sides."""

    def __init__(self, serial: str = "sd-wire_11", on_select: Callable[[bool], None] | None = None, **kwargs: Any):
        super().__init__(0x04E8, 0x6001, serial=serial, name="sd-wire", **kwargs)
        self.host = False
        self.on_select = on_select

    def control(self, request_type: int, request: int, value: int, index: int, data: bytes, length: int) -> bytes:
        if request_type == 0x40 and request == 0x0B:  # SET_BITMODE
            mode, mask = value >> 8, value & 0xFF
            if mode == 0x20 and mask & 0x10:  # CBUS bit-bang, CBUS0 an output
                host = bool(mask & 0x01)
                if host != self.host:
                    self.host = host
                    if self.on_select is not None:
                        self.on_select(host)
            return b""
        if request_type == 0xC0 and request == 0x0C:  # READ_PINS
            return bytes([0xF0 | int(self.host)])
        return super().control(request_type, request, value, index, data, length)


class VirtualBus(usb.backend.IBackend):  # type: ignore[misc]
    """The backend: the devices now plugged in, and every control transfer made."""

    def __init__(self) -> None:
        self.devices: list[VirtualDevice] = []
        self.transfers: list[Transfer] = []
        self.reports: list[Report] = []
        self.lock = threading.Lock()

    def plug(self, device: VirtualDevice, after: float = 0.0) -> None:
        """Plug `device` in now, or `after` seconds from now (it enumerates late)."""
        if after:
            threading.Timer(after, self.plug, (device,)).start()
            return
        with self.lock:
            self.devices.append(device)

    def unplug(self, device: VirtualDevice) -> None:
        with self.lock:
            if device in self.devices:
                self.devices.remove(device)

    def reset(self) -> None:
        with self.lock:
            self.devices.clear()
            self.transfers.clear()
            self.reports.clear()

    # usb.backend.IBackend

    def enumerate_devices(self) -> list[VirtualDevice]:
        with self.lock:
            return list(self.devices)

    def get_device_descriptor(self, dev: VirtualDevice) -> SimpleNamespace:
        return dev.descriptor()

    def get_parent(self, dev: VirtualDevice) -> None:
        return None

    def open_device(self, dev: VirtualDevice) -> VirtualDevice:
        self._present(dev)
        return dev

    def close_device(self, dev_handle: VirtualDevice) -> None:
        pass

    def ctrl_transfer(
        self,
        dev_handle: VirtualDevice,
        bmRequestType: int,
        bRequest: int,
        wValue: int,
        wIndex: int,
        data: array.array[int],
        timeout: int,
    ) -> int:
        self._present(dev_handle)
        inbound = bool(bmRequestType & 0x80)
        sent = b"" if inbound else bytes(data)
        with self.lock:
            self.transfers.append(Transfer(dev_handle.name, bmRequestType, bRequest, wValue, wIndex, sent))
        answer = dev_handle.control(bmRequestType, bRequest, wValue, wIndex, sent, len(data) if inbound else 0)
        if not inbound:
            return len(sent)
        count = min(len(answer), len(data))
        data[:count] = array.array("B", answer[:count])
        return count

    def get_configuration_descriptor(self, dev: VirtualDevice, config: int) -> SimpleNamespace:
        return SimpleNamespace(
            bLength=9, bDescriptorType=2, wTotalLength=9 + 9 * len(dev.interfaces), bNumInterfaces=len(dev.interfaces),
            bConfigurationValue=1, iConfiguration=0, bmAttributes=0x80, bMaxPower=50, extra_descriptors=[],
        )  # fmt: skip

    def get_interface_descriptor(self, dev: VirtualDevice, intf: int, alt: int, config: int) -> SimpleNamespace:
        if alt != 0:
            raise IndexError("no alternate settings")  # pyusb counts them until one is missing
        number, cls, endpoints = dev.interfaces[intf]
        return SimpleNamespace(
            bLength=9, bDescriptorType=4, bInterfaceNumber=number, bAlternateSetting=0, bNumEndpoints=len(endpoints),
            bInterfaceClass=cls, bInterfaceSubClass=dev.interface_kinds.get(number, (0, 0))[0],
            bInterfaceProtocol=dev.interface_kinds.get(number, (0, 0))[1], iInterface=0, extra_descriptors=[],
        )  # fmt: skip

    def get_endpoint_descriptor(self, dev: VirtualDevice, ep: int, intf: int, alt: int, config: int) -> SimpleNamespace:
        address, attributes = dev.interfaces[intf][2][ep]
        return SimpleNamespace(
            bLength=7, bDescriptorType=5, bEndpointAddress=address, bmAttributes=attributes, wMaxPacketSize=64,
            bInterval=1, bRefresh=0, bSynchAddress=0, extra_descriptors=[],
        )  # fmt: skip

    def get_configuration(self, dev_handle: VirtualDevice) -> int:
        return 1

    def set_configuration(self, dev_handle: VirtualDevice, config_value: int) -> None:
        pass

    def claim_interface(self, dev_handle: VirtualDevice, intf: int) -> None:
        self._present(dev_handle)
        if intf in dev_handle.kernel_bound:
            raise usb.core.USBError("Resource busy", errno.EBUSY)

    def release_interface(self, dev_handle: VirtualDevice, intf: int) -> None:
        pass

    def is_kernel_driver_active(self, dev_handle: VirtualDevice, intf: int) -> bool:
        return intf in dev_handle.kernel_bound

    def detach_kernel_driver(self, dev_handle: VirtualDevice, intf: int) -> None:
        dev_handle.kernel_bound.discard(intf)

    def intr_write(self, dev_handle: VirtualDevice, ep: int, intf: int, data: array.array[int], timeout: int) -> int:
        self._present(dev_handle)
        with self.lock:
            self.reports.append(Report(dev_handle.name, ep, bytes(data)))
        dev_handle.interrupt_out(ep, bytes(data))
        return len(data)

    def intr_read(self, dev_handle: VirtualDevice, ep: int, intf: int, buff: array.array[int], timeout: int) -> int:
        self._present(dev_handle)
        answer = dev_handle.interrupt_in(ep, len(buff))
        if answer is None:
            raise usb.core.USBTimeoutError("Operation timed out", errno.ETIMEDOUT)
        count = min(len(answer), len(buff))
        buff[:count] = array.array("B", answer[:count])
        return count

    def _present(self, dev: VirtualDevice) -> None:
        with self.lock:
            if dev not in self.devices:
                raise usb.core.USBError("No such device (it may have been disconnected)", errno.ENODEV)


#: The bus lab files name with `backend: tests.usb_bus:BUS`.
BUS = VirtualBus()
