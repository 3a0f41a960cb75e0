"""`can`: a python-can bus from the lab file that is itself a `can.BusABC`, so ordinary python-can code
(send, recv, iteration, `can.Notifier`, `send_periodic`) runs on it, with `expect_frame`, `collect`, an
ISO-TP request helper, and every frame of a test in a candump-format log beside its console logs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, cast

from hil_drivers.can.candump import candump_line
from pytest_hil.errors import DriverError, DriverUnavailable, HilError
from pytest_hil.interfaces import Can, DriverContext

try:
    import can
except ImportError:  # the driver says so when a lab uses it
    can = None  # type: ignore[assignment]


class FrameNotSeen(HilError, AssertionError):
    """`expect_frame` timed out: a test failure, listing the frames that did come."""


@dataclass(frozen=True)
class CanFilter:
    can_id: int = field(metadata={"help": "identifier bits to match", "min": 0, "max": 0x1FFFFFFF})
    can_mask: int = field(
        default=0x7FF, metadata={"help": "which bits of can_id must match", "min": 0, "max": 0x1FFFFFFF}
    )
    extended: bool | None = field(default=None, metadata={"help": "only extended (true) or standard (false) ids"})


@dataclass(frozen=True)
class CanOptions:
    interface: str = field(metadata={"help": "python-can interface: socketcan, virtual, udp_multicast, pcan, ..."})
    channel: str = field(metadata={"help": "the interface's channel: can0, a virtual bus name, a multicast group"})
    bitrate: int | None = field(default=None, metadata={"help": "bits per second (interfaces that set it)", "above": 0})
    fd: bool = field(default=False, metadata={"help": "CAN FD"})
    data_bitrate: int | None = field(default=None, metadata={"help": "CAN FD data phase bits per second", "above": 0})
    receive_own_messages: bool = field(default=False, metadata={"help": "also receive the frames this bus sends"})
    filters: list[CanFilter] = field(default_factory=list, metadata={"help": "receive only matching frames"})
    extra: dict[str, str | int | float | bool] = field(
        default_factory=dict, metadata={"help": "more keyword arguments for the interface, e.g. {port: 43113}"}
    )


class CanBus(Can[CanOptions], can.BusABC if can is not None else object):  # type: ignore[misc]
    """Wraps the configured python-can bus; frames sent and received are logged per test."""

    kind = "can"
    Options = CanOptions

    def __init__(self, options: CanOptions, context: DriverContext) -> None:
        if can is None:
            raise DriverUnavailable(f"{context}: python-can is not installed (pip install 'pytest-hil[can]')")
        Can.__init__(self, options, context)
        arguments: dict[str, Any] = {"receive_own_messages": options.receive_own_messages, **options.extra}
        if options.bitrate is not None:
            arguments["bitrate"] = options.bitrate
        if options.fd:
            arguments["fd"] = True
            if options.data_bitrate is not None:
                arguments["data_bitrate"] = options.data_bitrate
        try:
            self.inner = can.Bus(interface=options.interface, channel=options.channel, **arguments)
        except (can.CanError, OSError, ValueError, ImportError) as error:
            raise DriverError(f"{context}: {options.interface} bus on {options.channel}: {error}") from None
        filters = [
            {"can_id": f.can_id, "can_mask": f.can_mask, **({"extended": f.extended} if f.extended is not None else {})}
            for f in options.filters
        ]
        can.BusABC.__init__(self, options.channel, can_filters=cast(Any, filters) or None)
        self._can_protocol = self.inner.protocol
        self.channel_info = f"pytest-hil {options.interface} {options.channel}"
        self.trace = context.logs.trace(context.resource, "candump")

    # can.BusABC

    def send(self, msg: Any, timeout: float | None = None) -> None:
        if msg.timestamp == 0.0:
            msg.timestamp = time.time()
        self.inner.send(msg, timeout)
        self.trace.write(candump_line(msg, self.options.channel).encode())

    def _recv_internal(self, timeout: float | None) -> tuple[Any, bool]:
        msg = self.inner.recv(timeout)
        if msg is not None:
            self.trace.write(candump_line(msg, self.options.channel).encode())
        return msg, False  # BusABC applies this bus's filters

    def shutdown(self) -> None:
        if self._is_shutdown:
            return
        super().shutdown()
        self.inner.shutdown()

    # pytest-hil

    def expect_frame(
        self, arbitration_id: int, data: bytes | None = None, mask: int | None = None, timeout: float = 1.0
    ) -> Any:
        """The first frame whose id matches (under `mask`) and whose data equals `data` if given;
        `FrameNotSeen` listing the frames that came instead after `timeout` seconds."""
        mask = 0x1FFFFFFF if mask is None else mask
        seen: list[Any] = []
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            msg = self.recv(remaining)
            if msg is None:
                break
            if (msg.arbitration_id & mask) == (arbitration_id & mask) and (data is None or bytes(msg.data) == data):
                return msg
            seen.append(msg)
        wanted = f"{arbitration_id:03X}" + (f" (mask {mask:X})" if mask != 0x1FFFFFFF else "")
        wanted += f" with data {data.hex().upper()}" if data is not None else ""
        listing = "".join("\n  " + candump_line(msg, self.options.channel).rstrip() for msg in seen[-20:])
        more = f" (last 20 of {len(seen)})" if len(seen) > 20 else ""
        raise FrameNotSeen(
            f"{self.context}: no frame {wanted} within {timeout:g} s; {len(seen)} other frames came{more}:"
            + (listing or " none")
        )

    def collect(self, duration: float) -> list[Any]:
        """Every frame received during the next `duration` seconds."""
        frames = []
        deadline = time.monotonic() + duration
        while (remaining := deadline - time.monotonic()) > 0:
            msg = self.recv(remaining)
            if msg is not None:
                frames.append(msg)
        return frames

    def isotp_request(self, request: bytes, tx_id: int, rx_id: int, timeout: float = 2.0) -> bytes:
        """Send `request` over ISO-TP (can-isotp) from `tx_id` and return the response on `rx_id`."""
        try:
            import isotp
        except ImportError:
            raise DriverUnavailable(
                f"{self.context}: ISO-TP needs can-isotp (pip install 'pytest-hil[isotp]')"
            ) from None
        address = isotp.Address(isotp.AddressingMode.Normal_11bits, txid=tx_id, rxid=rx_id)
        notifier = can.Notifier(self, [], timeout=0.05)
        stack = isotp.NotifierBasedCanStack(self, notifier, address=address, params={"blocking_send": True})
        stack.start()
        try:
            stack.send(request, send_timeout=timeout)
            response = stack.recv(block=True, timeout=timeout)
        finally:
            stack.stop()
            notifier.stop()
        if response is None:
            raise FrameNotSeen(
                f"{self.context}: no ISO-TP response on {rx_id:03X} to {request.hex().upper()} within {timeout:g} s"
            )
        return bytes(response)

    def close(self) -> None:
        self.shutdown()
