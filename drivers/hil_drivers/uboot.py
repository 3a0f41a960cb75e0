"""`uboot`: a board's U-Boot, through the board's console and power resources (named by the options:
`{driver: uboot, console: vm, power: vm}`): stop autoboot at power-on, run commands at the prompt and
read their status (`$?` of U-Boot's hush shell), read and set the environment, DHCP, boot.

Everything typed and printed goes through the console's own log, so per-test logs and failure tails
work as for any console; a U-Boot that never shows its prompt fails naming the last console lines.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from pytest_hil import hookimpl
from pytest_hil.errors import ConsoleClosed, ConsoleTimeout, DriverError
from pytest_hil.interfaces import Bootloader, Console, DhcpInfo, Driver, DriverContext, Power

#: What U-Boot prints while it counts down to autoboot.
AUTOBOOT = "Hit any key to stop autoboot"
STATUS = re.compile(r"^HIL_RC=(\d+)\s*$", re.MULTILINE)
NOT_DEFINED = re.compile(r'## Error: "[^"]*" not defined')


@dataclass(frozen=True)
class UbootOptions:
    console: str = field(metadata={"help": "the console resource U-Boot speaks on", "resource": "console"})
    power: str | None = field(
        default=None, metadata={"help": "the power resource that resets the board", "resource": "power"}
    )
    prompt: str = field(default="=> ", metadata={"help": "U-Boot's prompt"})
    interrupt: str = field(default=" ", metadata={"help": "what stops autoboot (default: a key, any)"})
    boot_timeout: float = field(
        default=60.0, metadata={"help": "seconds from power-on to the autoboot countdown", "above": 0}
    )


class Uboot(Bootloader[UbootOptions]):
    """U-Boot on a board's console."""

    kind = "uboot"
    Options = UbootOptions

    def __init__(self, options: UbootOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.console = context.referenced(options.console, Console)
        self.power = context.referenced(options.power, Power) if options.power else None
        #: The prompt at the start of a line: output may hold it (`crc32` prints "==> 8d702a16").
        self.prompt = re.compile(r"(?:\A|[\r\n])" + re.escape(options.prompt))

    def _failed(self, what: str) -> DriverError:
        log = self.context.logs.logs.get(self.options.console)
        tail = log.recent_lines(8) if log is not None else ""
        lines = f"; the console's last lines:\n{tail}" if tail.strip() else "; the console printed nothing"
        return DriverError(f"{self.context}: {what}{lines}")

    def reboot_to_console(self, timeout: float | None = None) -> None:
        """Power-cycle the board (or, without a power resource, wait for a reset) and stop autoboot."""
        limit = self.options.boot_timeout if timeout is None else timeout
        self.context.logs.note("[hil] uboot: reboot to the prompt")
        if self.power is not None:
            self.power.off()
            self.power.on()
        try:
            self.console.expect([re.compile(re.escape(AUTOBOOT)), self.prompt], timeout=limit)
        except (ConsoleTimeout, ConsoleClosed):
            wanted = f"{AUTOBOOT!r} or the prompt {self.options.prompt!r}"
            raise self._failed(f"no U-Boot ({wanted}) within {limit:g} s") from None
        self._to_prompt()

    def _to_prompt(self) -> None:
        """Press the interrupt until the prompt answers (autoboot may still be counting down)."""
        deadline = time.monotonic() + 10
        while True:
            self.console.send(self.options.interrupt)
            try:
                self.console.expect(self.prompt, timeout=0.5)
                break
            except ConsoleTimeout:
                if time.monotonic() > deadline:
                    raise self._failed(f"U-Boot did not stop at its prompt {self.options.prompt!r}") from None
        self.console.sendline("")  # a clean line: whatever the interrupt typed is gone
        self.console.expect(self.prompt, timeout=5)

    def run(self, cmd: str, timeout: float = 60) -> str:
        """Run `cmd` at the prompt; what it printed (not its echo, not the prompt)."""
        if "\n" in cmd:
            raise ValueError("run() takes one command line")
        self.console.sendline(cmd)
        try:
            self.console.expect(self.prompt, timeout=timeout)
        except (ConsoleTimeout, ConsoleClosed):
            raise self._failed(f"U-Boot command {cmd!r} did not finish within {timeout:g} s") from None
        text = self.console.before.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        if lines and lines[0].strip() == cmd.strip():  # U-Boot echoes what is typed
            lines = lines[1:]
        return "\n".join(lines).strip("\n")

    def run_check(self, cmd: str, timeout: float = 60) -> str:
        """As `run`; raises DriverError with the command and its output when `$?` is not 0."""
        output = self.run(f"{cmd}; echo HIL_RC=$?", timeout)
        found = list(STATUS.finditer(output))
        if not found:
            raise self._failed(f"U-Boot command {cmd!r}: no status came back")
        status = int(found[-1][1])
        printed = output[: found[-1].start()].rstrip("\n")
        if status != 0:
            raise DriverError(f"{self.context}: U-Boot command {cmd!r} failed ($? = {status}): {printed}")
        return printed

    def env_get(self, name: str) -> str | None:
        output = self.run(f"printenv {name}")
        if NOT_DEFINED.search(output):
            return None
        prefix = f"{name}="
        for line in output.splitlines():
            if line.startswith(prefix):
                return line[len(prefix) :]
        raise self._failed(f"printenv {name} answered {output!r}")

    def env_set(self, name: str, value: str | None) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.]+", name):
            raise ValueError(f"env_set: {name!r} is not a U-Boot variable name")
        if value is None:
            self.run_check(f"setenv {name}")
            return
        if "'" in value or "\n" in value:
            raise ValueError(f"env_set: {name}: a value with a quote or a newline cannot be typed safely")
        self.run_check(f"setenv {name} '{value}'")

    def dhcp(self, timeout: float = 60) -> DhcpInfo:
        """DHCP with `autoload` off (nothing is fetched), then restored; the lease U-Boot got."""
        autoload = self.env_get("autoload")
        self.env_set("autoload", "no")
        try:
            self.run_check("dhcp", timeout)
            ip = self.env_get("ipaddr")
            if ip is None:
                raise self._failed("dhcp left no ipaddr")
            return DhcpInfo(ip, self.env_get("gatewayip"), self.env_get("netmask"), self.env_get("serverip"))
        finally:
            self.env_set("autoload", autoload)

    def boot(self, command: str | None = None) -> None:
        """Leave U-Boot: its default boot, or `command` (e.g. `zboot ...`); the board's shell then
        logs in as usual."""
        line = command or "boot"
        self.context.logs.note(f"[hil] uboot: {line}")
        self.console.sendline(line)


@hookimpl
def hil_drivers() -> Sequence[type[Driver]]:
    return [Uboot]
