"""`serial`: a serial port through pyserial: device paths and URLs (`socket://`, `rfc2217://`, `loop://`).

USB serial adapters vanish and come back when a board re-enumerates on a power cycle: a lost port is
reopened for up to `reconnect_timeout` seconds before the console gives up, naming the port.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pytest_hil import hookimpl
from pytest_hil.console import StreamConsole
from pytest_hil.console.byte_streams import ByteStream, StreamLost
from pytest_hil.errors import DriverError, DriverUnavailable
from pytest_hil.interfaces import Driver, DriverContext

if TYPE_CHECKING:
    import serial as pyserial


@dataclass(frozen=True)
class SerialOptions:
    port: str = field(metadata={"help": "device path or pyserial URL (socket://host:port, rfc2217://, loop://)"})
    baudrate: int = field(default=115200, metadata={"help": "bits per second"})
    bytesize: Literal[5, 6, 7, 8] = field(default=8, metadata={"help": "data bits"})
    parity: Literal["none", "even", "odd", "mark", "space"] = field(default="none", metadata={"help": "parity"})
    stopbits: float = field(default=1, metadata={"help": "stop bits: 1, 1.5 or 2"})
    flow: Literal["none", "rtscts", "dsrdtr", "xonxoff"] = field(default="none", metadata={"help": "flow control"})
    exclusive: bool = field(default=True, metadata={"help": "refuse a port another process has open"})
    reconnect_timeout: float = field(default=10.0, metadata={"help": "seconds to wait for a vanished port", "min": 0})
    timeout: float = field(default=30.0, metadata={"help": "default expect timeout in seconds", "above": 0})

    def __post_init__(self) -> None:
        if self.baudrate <= 0:
            raise ValueError(f"baudrate: {self.baudrate} is not a positive number of bits per second")
        if self.stopbits not in (1, 1.5, 2):
            raise ValueError(f"stopbits: {self.stopbits:g} is not 1, 1.5 or 2")
        if self.reconnect_timeout < 0:
            raise ValueError("reconnect_timeout: must be 0 or more seconds")


class SerialStream(ByteStream):
    """A pyserial port as a byte stream."""

    def __init__(self, port: pyserial.SerialBase) -> None:
        self.port = port

    def read(self, size: int, timeout: float) -> bytes:
        try:
            data = bytes(self.port.read(1))  # waits up to the port's own timeout
            if data:
                waiting = self.port.in_waiting
                if waiting:
                    data += bytes(self.port.read(min(waiting, size - 1)))
            return data
        except Exception as error:  # pyserial raises SerialException, OSError and more when a port goes
            raise StreamLost(str(error) or type(error).__name__) from None

    def write(self, data: bytes) -> None:
        try:
            self.port.write(data)
        except Exception as error:
            raise StreamLost(str(error) or type(error).__name__) from None

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a vanished device may refuse even this; it is gone anyway
            self.port.close()


class Serial(StreamConsole[SerialOptions]):
    """A console on a serial port; reopens a port that vanished."""

    kind = "serial"
    Options = SerialOptions

    def __init__(self, options: SerialOptions, context: DriverContext) -> None:
        try:
            import serial  # noqa: F401 - only to tell a missing pyserial apart
        except ImportError:
            raise DriverUnavailable(
                f"{context}: pyserial is not installed (pip install 'pytest-hil[serial]')"
            ) from None
        super().__init__(options, context, timeout=options.timeout)
        try:
            self.attach(SerialStream(self.open_port()))
        except DriverError:
            super().close()
            raise

    def open_port(self) -> pyserial.SerialBase:
        """Open the port with the lab file's settings; errors name board, resource and port."""
        import serial

        options = self.options
        try:
            port = serial.serial_for_url(rfc2217_url(options.port), do_not_open=True)
            port.baudrate = options.baudrate
            port.bytesize = options.bytesize
            port.parity = options.parity[0].upper()
            port.stopbits = options.stopbits
            port.rtscts = options.flow == "rtscts"
            port.dsrdtr = options.flow == "dsrdtr"
            port.xonxoff = options.flow == "xonxoff"
            port.timeout = 0.2
            if not options.port.startswith("rfc2217://"):  # pyserial 3.5's RFC2217 refuses to open with one
                port.write_timeout = 10
            if hasattr(port, "exclusive"):
                port.exclusive = options.exclusive
        except ValueError as error:
            raise DriverError(f"{self.context}: port {options.port}: the driver rejects a setting: {error}") from None
        except serial.SerialException as error:
            raise DriverError(f"{self.context}: port {options.port}: {error}") from None
        try:
            port.open()
        except (serial.SerialException, OSError, ValueError) as error:
            raise DriverError(f"{self.context}: cannot open port {options.port}: {_explain(error)}") from None
        return port

    def stream_lost(self, stream: ByteStream, reason: str) -> None:
        """Reopen a vanished port for up to `reconnect_timeout` seconds, then end the console."""
        if self._closing or self._current is not stream:
            super().stream_lost(stream, reason)
            return
        stream.close()
        self.log.note(f"[hil] serial port {self.options.port} lost ({reason}): reopening")
        deadline = time.monotonic() + self.options.reconnect_timeout
        while time.monotonic() < deadline and not self._closing:
            try:
                port = self.open_port()
            except DriverError:
                time.sleep(0.1)
                continue
            self.log.note(f"[hil] serial port {self.options.port} reopened")
            self.attach(SerialStream(port))
            return
        super().stream_lost(stream, f"port {self.options.port} vanished and did not come back within "
                                    f"{self.options.reconnect_timeout:g} s ({reason})")  # fmt: skip


def rfc2217_url(url: str) -> str:
    """An `rfc2217://` URL with pyserial's `ign_set_control`: pyserial 3.5 waits for an answer to
    SET_CONTROL that ser2net (and other servers) do not send, and gives up with "timeout while waiting
    for option 'control'". Other URLs and paths are returned as they are."""
    if not url.startswith("rfc2217://") or "ign_set_control" in url:
        return url
    return url + ("&" if "?" in url else "?") + "ign_set_control"


def _explain(error: Any) -> str:
    text = str(error)
    if "exclusively lock" in text or "Resource temporarily unavailable" in text:
        return f"the port is busy (another process holds it): {text}"
    return text


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    return [Serial]
