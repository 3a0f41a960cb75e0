"""`openocd`: microcontrollers through OpenOCD, kept running for the session and driven through its Tcl
port: `program FILE verify reset` to flash, `reset run`, a whole-bank erase, `read_memory`.

OpenOCD's own log (its progress and errors) goes into the board's console logs a line at a time; a
command that fails is reported with the line OpenOCD gave as its reason.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil_drivers.flashers.tool import find_tool, last_error
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext, Flasher
from pytest_hil.secrets import mask

#: What ends a command and its answer on OpenOCD's Tcl port.
END = b"\x1a"
#: Characters that would change a Tcl word's meaning inside braces.
UNSAFE = set("{}\\\n\r\x1a")


@dataclass(frozen=True)
class OpenOcdOptions:
    interface: str = field(metadata={"help": "the probe's config, e.g. interface/stlink.cfg (or a path)"})
    target: str = field(metadata={"help": "the chip's config, e.g. target/stm32f4x.cfg (or a path)"})
    extra_config: list[str] = field(
        default_factory=list, metadata={"help": "more OpenOCD commands run before init (adapter serial ...)"}
    )
    binary: str = field(default="openocd", metadata={"help": "the openocd program"})
    timeout: float = field(default=300.0, metadata={"help": "seconds a command may take", "above": 0})
    start_timeout: float = field(default=10.0, metadata={"help": "seconds OpenOCD may take to start", "above": 0})


class OpenOcd(Flasher[OpenOcdOptions]):
    """A chip behind a debug probe, through one OpenOCD process."""

    kind = "openocd"
    Options = OpenOcdOptions

    def __init__(self, options: OpenOcdOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.binary = find_tool(context, options.binary, "Debian: apt-get install openocd")
        self.process: subprocess.Popen[str] | None = None
        self.connection: socket.socket | None = None
        self.log: list[str] = []
        self.lock = threading.Lock()

    # the process and its Tcl port

    def _start(self) -> socket.socket:
        if self.connection is not None and self.process is not None and self.process.poll() is None:
            return self.connection
        self.close_process()
        with socket.socket() as probe:  # a free port for the Tcl server
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        argv = [self.binary, "-c", "gdb_port disabled", "-c", "telnet_port disabled", "-c", f"tcl_port {port}",
                "-f", self.options.interface, "-f", self.options.target]  # fmt: skip
        for command in self.options.extra_config:
            argv += ["-c", command]
        self.context.logs.note(f"[hil] start openocd: {mask(' '.join(argv))}")
        self.log = []
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        threading.Thread(target=self._follow, args=(self.process,), daemon=True).start()
        deadline = time.monotonic() + self.options.start_timeout
        while True:
            if self.process.poll() is not None:
                self.process.wait()
                time.sleep(0.1)  # its last lines
                status = self.process.returncode
                raise DriverError(
                    f"{self.context}: openocd exited with {status} while starting: {last_error(self.log)}"
                )
            try:
                self.connection = socket.create_connection(("127.0.0.1", port), timeout=1)
                return self.connection
            except OSError:
                if time.monotonic() > deadline:
                    self.close_process()
                    raise DriverError(
                        f"{self.context}: openocd did not open its Tcl port within {self.options.start_timeout:g} s:"
                        f" {last_error(self.log)}"
                    ) from None
                time.sleep(0.05)

    def _follow(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self.log.append(line)
            if line.strip():
                self.context.logs.note(f"[openocd] {mask(line.rstrip())}")

    def command(self, text: str, timeout: float | None = None) -> str:
        """Run one OpenOCD command and return its result (OpenOCD's Tcl RPC)."""
        with self.lock:
            connection = self._start()
            connection.settimeout(timeout or self.options.timeout)
            try:
                connection.sendall(text.encode() + END)
                answer = b""
                while not answer.endswith(END):
                    chunk = connection.recv(65536)
                    if not chunk:
                        raise OSError("openocd closed the connection")
                    answer += chunk
            except (OSError, TimeoutError) as error:
                self.close_process()
                raise DriverError(f"{self.context}: openocd: {text.split()[0]}: {error}") from None
        return answer[:-1].decode(errors="replace")

    def _checked(self, what: str, command: str) -> str:
        """Run `command`, catching its Tcl error: a failure is a DriverError with OpenOCD's reason."""
        failed = self.command(f"catch {{{command}}} hil_result")
        result = self.command("set hil_result")
        if failed.strip() != "0":
            reason = result.strip().splitlines()[0] if result.strip() else last_error(self.log)
            raise DriverError(f"{self.context}: {what}: openocd: {mask(reason)}")
        return result

    # the flasher

    def flash(self, path: str | Path, **options: Any) -> None:
        """`program` the image (.elf, .hex; a .bin at `address=`), verify it (unless `verify=False`) and
        reset the chip into it."""
        image = Path(path).resolve()
        if not image.is_file():
            raise DriverError(f"{self.context}: flash: {image} does not exist")
        if UNSAFE & set(str(image)):
            raise DriverError(
                f"{self.context}: flash: {image}: braces, backslashes and newlines cannot pass to openocd"
            )
        address = options.pop("address", None)
        verify = options.pop("verify", True)
        if options:
            raise TypeError(f"openocd flash() takes address and verify, not {', '.join(options)}")
        if image.suffix.lower() == ".bin" and address is None:
            raise DriverError(f"{self.context}: flash: {image.name} is a raw image: give address=0x...")
        words = ["program", f"{{{image}}}"] + ([hex(address)] if address is not None else [])
        words += ["verify"] if verify else []
        self.context.logs.note(f"[hil] flash {image.name} (openocd)")
        self._checked(f"flash {image.name}", " ".join([*words, "reset"]))

    def reset(self) -> None:
        self._checked("reset", "reset run")

    def erase(self) -> None:
        self._checked("erase", "reset halt; flash erase_sector 0 0 last")

    def read(self, address: int, words: int, width: int = 32) -> list[int]:
        """`words` values of `width` (8, 16, 32, 64) bits from `address`."""
        if width not in (8, 16, 32, 64):
            raise ValueError(f"width: {width} is not 8, 16, 32 or 64")
        result = self._checked(
            f"read {words} x {width} bits at {address:#x}", f"read_memory {address:#x} {width} {words}"
        )
        values = [int(token, 0) for token in result.split()]
        if len(values) != words:
            raise DriverError(f"{self.context}: read: openocd answered {result[:200]!r}, not {words} values")
        return values

    def close_process(self) -> None:
        connection, self.connection = self.connection, None
        process, self.process = self.process, None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.sendall(b"shutdown" + END)
            connection.close()
        if process is not None:
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def close(self) -> None:
        self.close_process()
