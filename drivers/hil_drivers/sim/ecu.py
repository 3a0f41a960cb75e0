"""The simulated board's CAN node, on python-can's `virtual` bus (in this process, like the board's
other hardware): a CANopen-style heartbeat while powered, and a UDS server over ISO-TP that answers
ReadDataByIdentifier and TesterPresent."""

from __future__ import annotations

import threading
import time
from typing import Any

REQUEST_ID, RESPONSE_ID = 0x7E0, 0x7E8
READ_DATA_BY_IDENTIFIER, TESTER_PRESENT = 0x22, 0x3E
HEARTBEAT_BASE, OPERATIONAL, BOOT_UP = 0x700, 0x05, 0x00
PAD = 0xAA


class Ecu:
    """Runs on its own thread from `start()` to `stop()`; `identifiers` maps DIDs to their data."""

    def __init__(self, channel: str, node: int, identifiers: dict[int, bytes], heartbeat: float = 0.1) -> None:
        import can

        self.can = can
        self.bus = can.Bus(interface="virtual", channel=channel, receive_own_messages=False)
        self.node = node
        self.identifiers = identifiers
        self.heartbeat = heartbeat
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._beat, name=f"sim-ecu-{channel}-heartbeat", daemon=True),
            threading.Thread(target=self._serve, name=f"sim-ecu-{channel}-uds", daemon=True),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join()
        self.bus.shutdown()

    def _send(self, arbitration_id: int, data: bytes) -> None:
        self.bus.send(self.can.Message(arbitration_id=arbitration_id, data=data, is_extended_id=False))

    def _beat(self) -> None:
        self._send(HEARTBEAT_BASE + self.node, bytes([BOOT_UP]))
        while not self.stopping.wait(self.heartbeat):
            self._send(HEARTBEAT_BASE + self.node, bytes([OPERATIONAL]))

    def _serve(self) -> None:
        while not self.stopping.is_set():
            frame = self.bus.recv(0.05)
            if frame is None or frame.arbitration_id != REQUEST_ID or not frame.data:
                continue
            data = bytes(frame.data)
            if data[0] >> 4 != 0:  # only single-frame requests: every request here fits one
                continue
            self._respond(self._answer(data[1 : 1 + (data[0] & 0x0F)]))

    def _answer(self, request: bytes) -> bytes:
        if not request:
            return b""
        service = request[0]
        if service == TESTER_PRESENT:
            return bytes([TESTER_PRESENT + 0x40, 0x00])
        if service == READ_DATA_BY_IDENTIFIER and len(request) == 3:
            identifier = request[1] << 8 | request[2]
            if identifier in self.identifiers:
                return bytes([service + 0x40]) + request[1:3] + self.identifiers[identifier]
            return bytes([0x7F, service, 0x31])  # requestOutOfRange
        return bytes([0x7F, service, 0x11])  # serviceNotSupported

    def _respond(self, payload: bytes) -> None:
        """ISO-TP: a single frame, or a first frame, the tester's flow control, consecutive frames."""
        if not payload:
            return
        if len(payload) <= 7:
            self._send(RESPONSE_ID, bytes([len(payload)]) + payload + bytes([PAD] * (7 - len(payload))))
            return
        self._send(RESPONSE_ID, bytes([0x10 | len(payload) >> 8, len(payload) & 0xFF]) + payload[:6])
        rest, sequence = payload[6:], 1
        while rest:
            control = self._flow_control()
            if control is None:
                return  # the tester gave up
            block_size, separation = control
            sent = 0
            while rest and (block_size == 0 or sent < block_size):
                time.sleep(separation)
                chunk, rest = rest[:7], rest[7:]
                self._send(RESPONSE_ID, bytes([0x20 | sequence]) + chunk + bytes([PAD] * (7 - len(chunk))))
                sequence, sent = (sequence + 1) % 16, sent + 1

    def _flow_control(self) -> tuple[int, float] | None:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            frame = self.bus.recv(0.05)
            if frame is not None and frame.arbitration_id == REQUEST_ID and frame.data and frame.data[0] >> 4 == 3:
                minimum = frame.data[2] if len(frame.data) > 2 else 0
                return frame.data[1], (minimum / 1000 if minimum <= 0x7F else 0.0)
        return None


def identifiers(board: str, software: str) -> dict[int, Any]:
    """The data identifiers a simulated board answers: VIN, software version, ECU serial."""
    vin = ("HILSIM" + board.upper().replace("-", ""))[:17].ljust(17, "0")
    return {0xF190: vin.encode(), 0xF195: software.encode(), 0xF18C: board.encode()}
