"""`ykush-power`: a port (or all ports) of a YEPKIT YKUSH switchable USB hub, through its HID interface.

The hub takes 64-byte reports on its interrupt OUT endpoint: the first byte is the command (0x0N
powers port N down, 0x1N up; 0x0A / 0x1A all ports; 0x2N asks for port N's state) and answers on its
interrupt IN endpoint: status 1 (done), then the state (above 0x10: up). pyusb talks to it directly,
taking the interface from the kernel's HID driver for the length of each exchange.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

from hil_drivers.power.switch import Switch
from hil_drivers.usb.lookup import UsbMatchOptions, bus_listing, describe, load_backend, matching, wanted
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext

YEPKIT = 0x04D8
#: YKUSH, YKUSH3 and the early YKUSH in normal operation (bootloader ids are left alone).
PRODUCTS = (0xF2F7, 0xF11B, 0x0042)
OUT, IN, INTERFACE = 0x01, 0x81, 0
REPORT = 64
DOWN, UP, STATE, ALL = 0x00, 0x10, 0x20, 0x0A
DONE = 1


@dataclass(frozen=True, kw_only=True)
class YkushPowerOptions(UsbMatchOptions):
    port: int | Literal["all"] = field(metadata={"help": "the downstream port, 1-3 (YKUSH3: 1-4), or all"})
    vendor: int | None = field(default=YEPKIT, metadata={"help": "idVendor (YEPKIT: 0x04d8)", "min": 0, "max": 0xFFFF})
    timeout: float = field(
        default=1.0, metadata={"help": "seconds to wait for the hub's answer", "above": 0, "max": 60}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.port != "all" and not 1 <= int(self.port) <= 4:
            raise ValueError(f"port: {self.port} is not a YKUSH port (1-3, YKUSH3 1-4, or all)")


class YkushPower(Switch[YkushPowerOptions]):
    """Switches a YKUSH port's VBUS; the state is what the hub reports."""

    kind = "ykush-power"
    Options = YkushPowerOptions

    def __init__(self, options: YkushPowerOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.backend = load_backend(context, options.backend)
        if options.product is not None:
            found = list(matching(options, self.backend))
        else:
            found = [hub for product in PRODUCTS for hub in matching(options, self.backend, idProduct=product)]
        if len(found) > 1:
            listed = "; ".join(describe(hub) for hub in found)
            raise DriverError(
                f"{context}: {len(found)} YKUSH hubs match {wanted(options)}: {listed} (add serial or path)"
            )
        if not found:
            raise DriverError(
                f"{context}: no YKUSH {wanted(options)} on the bus; found:\n  {bus_listing(self.backend)}"
            )
        self.hub = found[0]
        self.name = describe(self.hub)  # as it was found: a hub that went away has no serial to read
        self.lock = threading.Lock()
        count = self._exchange(0xF1)[1]
        self.ports = count if 1 <= count <= 4 else 3  # early firmware does not know 0xF1
        if options.port != "all" and int(options.port) > self.ports:
            raise DriverError(f"{context}: port {options.port}: YKUSH {self.name} has {self.ports} ports")

    def describe(self) -> str:
        return f"{self.kind} {self.name} port {self.options.port}"

    def _exchange(self, command: int) -> bytes:
        """Send one command report and read the answer, with the HID interface taken from the kernel."""
        import usb.core
        import usb.util

        report = bytes([command]) + bytes(REPORT - 1)
        timeout = int(self.options.timeout * 1000)
        with self.lock:
            try:
                if self.hub.is_kernel_driver_active(INTERFACE):
                    self.hub.detach_kernel_driver(INTERFACE)
                usb.util.claim_interface(self.hub, INTERFACE)
                self.hub.write(OUT, report, timeout=timeout)
                answer = bytes(self.hub.read(IN, REPORT, timeout=timeout))
            except usb.core.USBTimeoutError:
                raise DriverError(
                    f"{self.context}: YKUSH {self.name} did not answer command 0x{command:02x}"
                    f" within {self.options.timeout:g} s"
                ) from None
            except usb.core.USBError as error:
                raise DriverError(f"{self.context}: YKUSH {self.name}: {error}") from None
            finally:
                usb.util.release_interface(self.hub, INTERFACE)
        if len(answer) < 2:
            raise DriverError(f"{self.context}: YKUSH {self.name} sent a short answer {answer.hex()}")
        return answer

    def _switch(self, on: bool) -> bool | None:
        port = ALL if self.options.port == "all" else int(self.options.port)
        answer = self._exchange((UP if on else DOWN) | port)
        if answer[0] != DONE:
            raise DriverError(f"{self.context}: YKUSH {self.name} refused command 0x{(UP if on else DOWN) | port:02x}")
        return None  # read back by _read

    def _read(self) -> bool | None:
        ports = range(1, self.ports + 1) if self.options.port == "all" else [int(self.options.port)]
        states = []
        for port in ports:
            answer = self._exchange(STATE | port)
            if answer[0] != DONE:
                raise DriverError(f"{self.context}: YKUSH {self.name} did not report port {port}")
            states.append(answer[1] > UP)
        return all(states) if all(states) or not any(states) else None  # mixed: "all" is neither

    def close(self) -> None:
        import usb.util

        usb.util.dispose_resources(self.hub)
