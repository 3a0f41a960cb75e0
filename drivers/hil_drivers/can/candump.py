"""Frames as candump's log format writes them: `(1700000000.123456) can0 123#DEADBEEF`."""

from __future__ import annotations

from typing import Any


def candump_line(message: Any, channel: str) -> str:
    """One frame (a `can.Message`) as a line of `candump -l` output, newline included."""
    ident = f"{message.arbitration_id:08X}" if message.is_extended_id else f"{message.arbitration_id:03X}"
    if message.is_error_frame:
        ident = f"{0x20000000 | message.arbitration_id:08X}"
    if message.is_remote_frame:
        body = "R" + (str(message.dlc) if message.dlc else "")
        separator = "#"
    elif message.is_fd:
        flags = (1 if message.bitrate_switch else 0) | (2 if message.error_state_indicator else 0)
        separator, body = "##", f"{flags:X}{bytes(message.data).hex().upper()}"
    else:
        separator, body = "#", bytes(message.data).hex().upper()
    return f"({message.timestamp:.6f}) {channel} {ident}{separator}{body}\n"
