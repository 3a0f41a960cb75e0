"""The small interfaces drivers implement and fixtures hand to tests.

A driver subclasses `Driver` through one or more interfaces, typed by its options dataclass
(`class Qemu(Power[QemuOptions], Console[QemuOptions])`), names its `kind` (the lab file's `driver:`
value) and declares that dataclass as `Options`, so `self.options.x` is type-checked.
"""

from __future__ import annotations

import abc
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, cast

from pytest_hil.closing import Closing
from pytest_hil.progress import SILENT, Progress

if TYPE_CHECKING:
    from PIL.Image import Image

    from pytest_hil.console.log import BoardLogs


@dataclass(frozen=True)
class NoOptions:
    """The schema of a driver that takes no options."""


#: A driver class, as typed lookups (`context.resource`, `board.get`) return it.
DriverT = TypeVar("DriverT", bound="Driver[Any]")


@dataclass(frozen=True)
class DriverContext:
    """Where a driver instance sits: its board, resource name, the lab file's folder, the board's logs,
    and where to show the progress of long operations."""

    board: str
    resource: str
    lab_dir: Path
    labels: dict[str, str]
    logs: BoardLogs
    progress: Progress = field(default=SILENT, compare=False)
    #: The board's drivers by resource name (the board's own, created on first use): how a driver
    #: reaches the resources its options name.
    lookup: Callable[[str], Driver] | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"board {self.board}, resource {self.resource}"

    def referenced(self, name: str, interface: Callable[..., DriverT]) -> DriverT:
        """The driver of the board's resource `name` (one an option of this driver names), as an
        `interface`: the same instance every user of that resource gets."""
        if self.lookup is None:
            raise LookupError(f"{self}: resource {name}: this driver was made outside a board")
        driver = self.lookup(name)
        if not (isinstance(interface, type) and isinstance(driver, interface)):
            wanted = getattr(interface, "__name__", repr(interface))
            raise TypeError(f"board {self.board}, resource {name} ({driver.kind}) is not a {wanted}")
        return cast(DriverT, driver)  # checked just above


#: A driver's options type; `Power` alone means `Power[Any]` (a default type checkers know from
#: typing_extensions, PEP 696; at run time a plain TypeVar does the same, without the import).
if TYPE_CHECKING:
    from typing_extensions import TypeVar as DefaultTypeVar

    OptionsT = DefaultTypeVar("OptionsT", default=Any)
else:
    OptionsT = TypeVar("OptionsT")


class Driver(Closing, abc.ABC, Generic[OptionsT]):
    """Base of every driver; created lazily when a test first uses its resource, closed at session end.

    A driver is a context manager, and `close()` runs once however often it is called (a subclass's
    `close` is wrapped so: it need not guard itself).
    """

    kind: ClassVar[str]
    Options: ClassVar[type[Any]] = NoOptions
    #: The board this driver operates exists only inside the process that created the driver (a
    #: simulated or QEMU board): it is gone when that process ends, e.g. after each `hil` command.
    process_bound: ClassVar[bool] = False

    def __init__(self, options: OptionsT, context: DriverContext) -> None:
        self.options: OptionsT = options
        self.context = context

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        close = cls.__dict__.get("close")
        if close is not None and close not in _ONCE:
            type.__setattr__(cls, "close", _once(close))

    def close(self) -> None:
        """Release what the driver holds; called once, in reverse creation order."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind!r} {self.context}>"


class Power(Driver[OptionsT]):
    """Switches a board's supply."""

    @abc.abstractmethod
    def on(self) -> None: ...

    @abc.abstractmethod
    def off(self) -> None: ...

    def cycle(self, off_time: float = 1.0) -> None:
        """Off, wait `off_time` seconds, on."""
        import time

        self.off()
        time.sleep(off_time)
        self.on()

    @abc.abstractmethod
    def state(self) -> bool | None:
        """True when on, False when off, None when the switch cannot tell."""


def _once(close: Any) -> Any:
    """`close` of one class in a driver's hierarchy, run at most once per instance (a subclass's close
    calling `super().close()` still reaches each class's own once)."""

    @functools.wraps(close)
    def once(self: Driver[Any]) -> None:
        done: set[Any] = self.__dict__.setdefault("_closed_by", set())
        if once in done:
            return
        done.add(once)  # before closing: a close that fails is not retried
        close(self)

    _ONCE.add(once)
    return once


#: The `close` methods already made to run once.
_ONCE: set[Any] = set()


Pattern = str | bytes | re.Pattern[str] | type
Patterns = Pattern | Sequence[Pattern]


class Console(Driver[OptionsT]):
    """A board's byte stream, spoken to in pexpect's vocabulary."""

    @abc.abstractmethod
    def expect(self, pattern: Patterns, timeout: float | None = -1) -> int:
        """Wait for a pattern (or the first of a list); return its index."""

    @abc.abstractmethod
    def expect_exact(self, pattern: Patterns, timeout: float | None = -1) -> int:
        """Like `expect`, with plain strings instead of regular expressions."""

    @abc.abstractmethod
    def send(self, data: str | bytes) -> int: ...

    @abc.abstractmethod
    def sendline(self, line: str = "") -> int: ...

    @abc.abstractmethod
    def sendcontrol(self, char: str) -> int: ...

    @property
    @abc.abstractmethod
    def before(self) -> str:
        """What came before the last match."""

    @property
    @abc.abstractmethod
    def match(self) -> re.Match[str] | None:
        """The last match."""

    @abc.abstractmethod
    def read_nonblocking(self, size: int = 65536, timeout: float = 0) -> str:
        """What arrived (or arrives within `timeout` seconds) and no `expect` consumed; '' if nothing."""

    @abc.abstractmethod
    def read_until_quiet(self, quiet: float = 0.5, timeout: float | None = None) -> str:
        """Everything printed until the board is silent for `quiet` seconds (or `timeout` passes)."""


@dataclass(frozen=True)
class CommandResult:
    """What a command run on a board gave back: its output, exit status and how long it took."""

    command: str
    stdout: str
    exit_code: int
    duration: float
    #: Separate only where the transport keeps it apart (SSH); a console shell's stderr is in stdout.
    stderr: str = ""


class Shell(Driver[OptionsT]):
    """A logged-in shell; state (`cd`, exports) persists between runs."""

    @abc.abstractmethod
    def run(self, cmd: str, timeout: float | None = None) -> CommandResult: ...

    @abc.abstractmethod
    def run_check(self, cmd: str, timeout: float | None = None) -> CommandResult: ...

    @abc.abstractmethod
    def connect(self) -> None:
        """Reach a logged-in prompt now (the `shell` fixture and `run` do it by themselves); a test
        calls it to wait for the board to come back after a reboot it caused."""


class Storage(Driver[OptionsT]):
    """Where a board boots from: written by the host, then handed to the board."""

    @abc.abstractmethod
    def write(self, image: str | Path, verify: bool = False) -> None: ...

    @abc.abstractmethod
    def read(self, dest: str | Path, size: int) -> None: ...

    def host(self) -> None:
        """Connect the medium to the host (muxes)."""

    def dut(self) -> None:
        """Connect the medium to the board (muxes)."""


class Can(Driver[OptionsT]):
    """A CAN bus; implementations are also python-can `BusABC`s."""

    @abc.abstractmethod
    def expect_frame(
        self, arbitration_id: int, data: bytes | None = None, mask: int | None = None, timeout: float = 1.0
    ) -> Any: ...

    @abc.abstractmethod
    def isotp_request(self, request: bytes, tx_id: int, rx_id: int, timeout: float = 2.0) -> bytes:
        """Send `request` over ISO-TP from `tx_id` and return the response on `rx_id`."""


class Gpio(Driver[OptionsT]):
    """One GPIO line."""

    @abc.abstractmethod
    def on(self) -> None: ...

    @abc.abstractmethod
    def off(self) -> None: ...

    @abc.abstractmethod
    def pulse(self, seconds: float) -> None: ...

    @property
    @abc.abstractmethod
    def value(self) -> int: ...

    @abc.abstractmethod
    def wait_for_active(self, timeout: float | None = None) -> bool: ...

    @abc.abstractmethod
    def wait_for_inactive(self, timeout: float | None = None) -> bool: ...

    @abc.abstractmethod
    def count_edges(self, window: float, edge: Literal["rising", "falling", "both"] = "rising") -> int:
        """How many edges of an input line happen during the next `window` seconds (e.g. LED blinks)."""


class Video(Driver[OptionsT]):
    """A board's display output."""

    @abc.abstractmethod
    def snapshot(self) -> Image: ...

    @abc.abstractmethod
    def assert_matches(
        self,
        reference: Any,
        max_distance: int | None = None,
        hash: Any = "blocks",
        region: tuple[int, int, int, int] | None = None,
    ) -> None: ...

    @abc.abstractmethod
    def wait_for_match(
        self,
        reference: Any,
        timeout: float = 10.0,
        max_distance: int | None = None,
        hash: Any = "blocks",
        region: tuple[int, int, int, int] | None = None,
        interval: float = 0.2,
    ) -> Image: ...


class Usb(Driver[OptionsT]):
    """A USB device that appears and disappears."""

    @abc.abstractmethod
    def find(self) -> Any: ...

    @abc.abstractmethod
    def wait_present(self, timeout: float = 10.0) -> Any: ...

    @abc.abstractmethod
    def wait_absent(self, timeout: float = 10.0) -> None: ...


class Ssh(Driver[OptionsT]):
    """A board reached over SSH."""

    @abc.abstractmethod
    def run(self, cmd: str, timeout: float | None = None) -> CommandResult: ...

    @abc.abstractmethod
    def put(self, local: str | Path, remote: str) -> None: ...

    @abc.abstractmethod
    def get(self, remote: str, local: str | Path) -> None: ...


@dataclass(frozen=True)
class ScriptResult:
    """What a lab-host script gave back."""

    name: str
    stdout: str
    stderr: str
    exit_code: int
    duration: float


class Scripts(Driver[OptionsT]):
    """Named scripts on the machine the board hangs on (`scripts.call("reset_usb")` or
    `scripts.reset_usb()`): arguments reach a script as $1..$n, keyword arguments as environment
    variables, never spliced into its text."""

    @abc.abstractmethod
    def names(self) -> list[str]:
        """The scripts this resource offers."""

    @abc.abstractmethod
    def call(self, name: str, *args: object, **env: object) -> ScriptResult: ...

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or "options" not in self.__dict__:
            raise AttributeError(name)  # not made yet (copying, unpickling): no script lookup
        if name not in self.names():
            known = ", ".join(self.names()) or "none"
            raise AttributeError(f"{self!r} has no script {name!r} (it has: {known})")
        return functools.partial(self.call, name)


@dataclass(frozen=True)
class DhcpInfo:
    """What a bootloader's DHCP gave the board."""

    ip: str
    gateway: str | None
    netmask: str | None
    server: str | None

    @property
    def cidr(self) -> str:
        """`10.0.2.15/24`: the address with the netmask's prefix length."""
        if not self.netmask:
            return self.ip
        prefix = sum(bin(int(part)).count("1") for part in self.netmask.split("."))
        return f"{self.ip}/{prefix}"


class Bootloader(Driver[OptionsT]):
    """A board's bootloader prompt (U-Boot): stop the boot there, run commands, set its environment."""

    @abc.abstractmethod
    def reboot_to_console(self, timeout: float | None = None) -> None:
        """Reset the board (power cycle) and stop it at the bootloader's prompt."""

    @abc.abstractmethod
    def run(self, cmd: str, timeout: float = 60) -> str:
        """Run `cmd` at the prompt; its output only."""

    @abc.abstractmethod
    def run_check(self, cmd: str, timeout: float = 60) -> str:
        """As `run`; a command that fails (`$?` not 0) raises, with the command and its output."""

    @abc.abstractmethod
    def env_get(self, name: str) -> str | None: ...

    @abc.abstractmethod
    def env_set(self, name: str, value: str | None) -> None:
        """Set `name` (None: remove it)."""

    def env_set_many(self, values: Mapping[str, str | None]) -> None:
        for name, value in values.items():
            self.env_set(name, value)

    @abc.abstractmethod
    def dhcp(self, timeout: float = 60) -> DhcpInfo: ...

    @abc.abstractmethod
    def boot(self, command: str | None = None) -> None:
        """Leave the bootloader (its default boot, or `command`)."""


class Flasher(Driver[OptionsT]):
    """Programs a microcontroller's flash through a debug probe or its bootloader."""

    @abc.abstractmethod
    def flash(self, path: str | Path, **options: Any) -> None:
        """Write the image at `path` (and verify it); drivers document their options."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Reset the chip and let it run."""

    @abc.abstractmethod
    def erase(self) -> None:
        """Erase the whole flash."""


class FileServer(Driver[OptionsT]):
    """Files a board fetches over the network (the `http-server` and `tftp-server` resources); a
    driver's option names one of them by its kind, as it names a console by its interface."""

    @abc.abstractmethod
    def put(self, path: str | Path, name: str | None = None) -> str:
        """Serve the file at `path` as `name` (default: its own name); what a board asks for (a URL, a
        file name)."""

    @abc.abstractmethod
    def sent(self, name: str) -> int:
        """Bytes of `name` sent to boards so far, over all its transfers (a flasher's progress)."""


INTERFACES: dict[str, type[Driver]] = {
    "power": Power,
    "console": Console,
    "shell": Shell,
    "storage": Storage,
    "can": Can,
    "gpio": Gpio,
    "video": Video,
    "usb": Usb,
    "ssh": Ssh,
    "scripts": Scripts,
    "flasher": Flasher,
    "bootloader": Bootloader,
}


def interfaces_of(driver: type[Driver]) -> tuple[str, ...]:
    """The interface names a driver class implements, in the order of `INTERFACES`."""
    return tuple(name for name, cls in INTERFACES.items() if issubclass(driver, cls))
