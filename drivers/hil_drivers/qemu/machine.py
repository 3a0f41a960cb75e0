"""`qemu`: a virtual board. Its serial console is a console; QMP is its power switch and reset line.

Powered off means no QEMU process. Power-on starts QEMU paused (`-S`), connects the serial socket and
QMP, and only then lets the CPU run, so not a byte of the boot is lost. The console is read as soon as
data arrives: QEMU stalls the guest when the serial socket's buffer fills.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from hil_drivers.qemu.qmp import Qmp, QmpError
from pytest_hil.console import StreamConsole
from pytest_hil.console.byte_streams import SocketStream
from pytest_hil.errors import DriverError, DriverUnavailable
from pytest_hil.interfaces import DriverContext, Power

#: Debian package that carries qemu-system-<arch>.
PACKAGES = {
    "x86_64": "qemu-system-x86",
    "i386": "qemu-system-x86",
    "aarch64": "qemu-system-arm",
    "arm": "qemu-system-arm",
    "riscv64": "qemu-system-misc",
}


#: A user-network port forward: protocol:[host address]:host port-[guest address]:guest port.
HOSTFWD = re.compile(r"^(tcp|udp):(?P<address>[^:]*):(?P<host_port>\d+)-[^:]*:(?P<guest_port>\d+)$")


@dataclass(frozen=True)
class QemuOptions:
    arch: str = field(default="x86_64", metadata={"help": "qemu-system-<arch> to run"})
    kernel: Path | None = field(default=None, metadata={"help": "kernel image (-kernel)"})
    bios: Path | None = field(
        default=None, metadata={"help": "firmware (-bios), e.g. U-Boot: /usr/lib/u-boot/qemu-x86/u-boot.rom"}
    )
    initrd: Path | None = field(default=None, metadata={"help": "initial ramdisk (-initrd)"})
    append: str = field(default="console=ttyS0", metadata={"help": "kernel command line (-append)"})
    machine: str | None = field(default=None, metadata={"help": "machine type (-M)"})
    cpu: str | None = field(default=None, metadata={"help": "CPU model (-cpu)"})
    memory: str = field(default="256M", metadata={"help": "guest memory (-m)"})
    disk: list[Path] = field(default_factory=list, metadata={"help": "disk images, attached as virtio drives"})
    hostfwd: list[str] = field(
        default_factory=list, metadata={"help": "user-network port forwards, e.g. tcp:127.0.0.1:2222-:22"}
    )
    nic_model: str | None = field(
        default=None, metadata={"help": "network card with hostfwd, e.g. virtio-net-pci (default: QEMU's choice)"}
    )
    network: bool = field(
        default=False,
        metadata={"help": "a network card on QEMU's user network (DHCP; the host's loopback is 10.0.2.2)"},
    )
    extra_args: list[str] = field(default_factory=list, metadata={"help": "more QEMU arguments, as given"})
    accel: str = field(default="tcg", metadata={"help": "accelerator (-accel); tcg works everywhere"})
    binary: str | None = field(default=None, metadata={"help": "QEMU executable (default: qemu-system-<arch>)"})
    timeout: float = field(default=30.0, metadata={"help": "default console expect timeout in seconds", "above": 0})
    baud: int | None = field(
        default=None,
        metadata={"help": "carry console bytes as a UART at this rate would (8N1), e.g. 115200", "min": 50},
    )
    start_timeout: float = field(
        default=10.0, metadata={"help": "seconds QEMU may take to open its sockets", "above": 0}
    )

    def __post_init__(self) -> None:
        for rule in self.hostfwd:
            if not HOSTFWD.match(rule):
                raise ValueError(f"hostfwd: {rule!r} is not like tcp:127.0.0.1:2222-:22")


class Qemu(StreamConsole[QemuOptions], Power[QemuOptions]):
    """A QEMU virtual board: power (QMP), reset (QMP) and console (serial socket) in one resource."""

    kind = "qemu"
    process_bound = True
    Options = QemuOptions

    def __init__(self, options: QemuOptions, context: DriverContext) -> None:
        binary = options.binary or f"qemu-system-{options.arch}"
        self.binary = shutil.which(binary)
        if self.binary is None:
            package = PACKAGES.get(options.arch, "the QEMU package for this architecture")
            raise DriverUnavailable(f"{context}: {binary} is not installed (Debian: apt-get install {package})")
        for setting in ("kernel", "initrd", "bios"):
            path = getattr(options, setting)
            if path is not None and not path.is_file():
                raise DriverError(f"{context}: {setting}: {path} does not exist")
        super().__init__(options, context, timeout=options.timeout, baud=options.baud)
        self.process: subprocess.Popen[bytes] | None = None
        self.qmp: Qmp | None = None
        self.folder: Path | None = None

    # power

    def on(self) -> None:
        if self.state():
            return
        for path in self.options.disk:  # checked now, not at start: a qemu-disk resource may flash it first
            if not path.is_file():
                raise DriverError(f"{self.context}: disk: {path} does not exist (flash an image to it first?)")
        self.off()  # a process that died by itself leaves sockets and a folder behind
        self.folder = Path(tempfile.mkdtemp(prefix="hil-qemu-"))
        self.context.logs.power_event(f"[hil] power on ({self.kind} {self.binary})")
        self.process = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        serial = self._connect(self.folder / "serial.sock")
        self.attach(SocketStream(serial))
        try:
            self.qmp = Qmp(self._connect(self.folder / "qmp.sock"))
            self.qmp.execute("cont")
        except QmpError as error:
            raise DriverError(f"{self.context}: QEMU's machine protocol: {error}") from None

    def off(self) -> None:
        process = self.process
        if process is not None:
            self.context.logs.power_event(f"[hil] power off ({self.kind})")
            self.detach()
            self._quit(process)
        self.process = None
        if self.qmp is not None:
            self.qmp.close()
            self.qmp = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def state(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def forwards(self) -> dict[int, tuple[str, int]]:
        """Guest port -> (host address, host port) of the `hostfwd` rules: where to reach the guest's
        services (its sshd on 22, say) from this machine."""
        published = {}
        for rule in self.options.hostfwd:
            match = HOSTFWD.match(rule)
            assert match is not None  # checked when the lab was loaded
            published[int(match["guest_port"])] = (match["address"] or "127.0.0.1", int(match["host_port"]))
        return published

    def reset(self) -> None:
        """Hard reset (QMP system_reset): the board boots again with power kept on."""
        if self.qmp is None or not self.state():
            raise DriverError(f"{self.context}: cannot reset: the board is off")
        self.context.logs.power_event(f"[hil] reset ({self.kind})")
        self.qmp.execute("system_reset")

    def close(self) -> None:
        try:
            self.off()
        finally:
            super().close()

    # QEMU

    def command(self) -> list[str]:
        """The QEMU command line (sockets in this power-on's folder)."""
        options = self.options
        assert self.binary is not None
        assert self.folder is not None
        args = [self.binary, "-accel", options.accel, "-m", options.memory, "-display", "none", "-S"]
        if options.machine:
            args += ["-M", options.machine]
        if options.cpu:
            args += ["-cpu", options.cpu]
        if options.bios:
            args += ["-bios", str(options.bios)]
        if options.kernel:
            args += ["-kernel", str(options.kernel), "-append", options.append]
        if options.initrd:
            args += ["-initrd", str(options.initrd)]
        for index, disk in enumerate(options.disk):
            args += ["-drive", f"file={_qemu_option_value(disk)},if=virtio,format=raw,index={index}"]
        if options.hostfwd or options.network:
            model = [f"model={options.nic_model}"] if options.nic_model else []
            args += ["-nic", ",".join(["user", *model, *(f"hostfwd={rule}" for rule in options.hostfwd)])]
        else:
            args += ["-nic", "none"]
        args += ["-serial", f"unix:{self.folder / 'serial.sock'},server=on,wait=off"]
        args += ["-qmp", f"unix:{self.folder / 'qmp.sock'},server=on,wait=off"]
        return args + list(options.extra_args)

    def _wait_for(self, path: Path) -> Path:
        deadline = time.monotonic() + self.options.start_timeout
        while not path.exists():
            process = self.process
            if process is None or process.poll() is not None:
                raise DriverError(f"{self.context}: QEMU exited at start: {self._stderr()}")
            if time.monotonic() > deadline:
                raise DriverError(
                    f"{self.context}: QEMU did not open {path.name} within {self.options.start_timeout} s"
                )
            time.sleep(0.01)
        return path

    def _connect(self, path: Path) -> socket.socket:
        """Connect to one of QEMU's sockets; it may exist a moment before QEMU listens on it."""
        self._wait_for(path)
        deadline = time.monotonic() + self.options.start_timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(path))
                return sock
            except (ConnectionRefusedError, FileNotFoundError) as error:
                sock.close()
                if time.monotonic() > deadline:
                    raise DriverError(
                        f"{self.context}: QEMU does not accept connections on {path.name}: {error}"
                    ) from None
                time.sleep(0.01)

    def _quit(self, process: subprocess.Popen[bytes]) -> None:
        """Pull the plug through QMP; kill the process only if QMP cannot."""
        if process.poll() is None:
            try:
                if self.qmp is None:
                    raise QmpError("no QMP connection")
                with contextlib.suppress(QmpError):  # QEMU may close the socket before answering
                    self.qmp.execute("quit")
                process.wait(timeout=5)
            except (QmpError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
        if process.stderr is not None:
            process.stderr.close()

    def _stderr(self) -> str:
        process = self.process
        if process is None or process.stderr is None:
            return ""
        return process.stderr.read().decode(errors="replace").strip()


def _qemu_option_value(value: object) -> str:
    """A value inside a QEMU `-drive a=b,c=d` list: QEMU reads a doubled comma as one comma of the value."""
    return str(value).replace(",", ",,")
