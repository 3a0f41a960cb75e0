"""`flasher-os`: write an image to a board's own disk (eMMC, a virtio disk) when no SD mux reaches it.
U-Boot network-boots the flasher OS (its kernel and initramfs from the `tftp-server` resource), which
fetches the image from the `http-server` resource, writes it, reads it back and prints its sha256;
the driver compares that with the image's own, then power-cycles the board.

Compressed images (.gz, .xz, .bz2) travel compressed and are unpacked on the board: the network, often
the slow link in a lab, carries the fewest bytes, and the host reads the image once, for its digest.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hil_drivers.flasher_os.system import MARK
from pytest_hil.errors import ConsoleClosed, ConsoleTimeout, DriverError
from pytest_hil.interfaces import Bootloader, Console, DriverContext, FileServer, Flasher, Power
from pytest_hil.progress import Task

#: The compressed formats the board unpacks (busybox's gunzip, xzcat, bunzip2).
UNPACKERS = (".gz", ".xz", ".bz2")
RESULT = re.compile(
    re.escape(MARK) + r" (done sha256=(?P<digest>[0-9a-f]{64}) bytes=(?P<bytes>\d+)|error (?P<error>[^\r\n]*))"
)


@dataclass(frozen=True)
class FlasherOsOptions:
    bootloader: str = field(metadata={"help": "the board's bootloader resource (uboot)", "resource": "bootloader"})
    console: str = field(metadata={"help": "the console the flasher OS reports on", "resource": "console"})
    power: str = field(metadata={"help": "the power resource that resets the board afterwards", "resource": "power"})
    http: str = field(metadata={"help": "the http-server resource the image comes from", "resource": "http-server"})
    tftp: str = field(metadata={"help": "the tftp-server resource serving the flasher OS", "resource": "tftp-server"})
    kernel: Path = field(metadata={"help": "the flasher OS's kernel"})
    initramfs: Path = field(metadata={"help": "the flasher OS's initramfs (build_flasher_initramfs)"})
    server: str | None = field(
        default=None,
        metadata={"help": "this machine's address as the board reaches it (default: its own outward address)"},
    )
    target: str = field(default="/dev/vda", metadata={"help": "the disk the image is written to, on the board"})
    interface: str = field(default="eth0", metadata={"help": "the flasher OS's network interface"})
    kernel_address: str = field(default="0x3000000", metadata={"help": "where U-Boot loads the kernel"})
    initramfs_address: str = field(default="0x6000000", metadata={"help": "where U-Boot loads the initramfs"})
    boot_command: str = field(
        default="zboot {kernel} 0 {initramfs} ${{filesize}}",
        metadata={"help": "U-Boot's command that starts the kernel ({kernel}, {initramfs}: the addresses)"},
    )
    bootargs: str = field(default="console=ttyS0 panic=-1 quiet", metadata={"help": "the kernel's command line"})
    timeout: float = field(default=1800.0, metadata={"help": "seconds for boot, fetch and write", "above": 0})


def outward_address() -> str:
    """This machine's address on the route out (the board's view of it on a lab network)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.254", 9))  # sends nothing: the route decides the address
        return str(probe.getsockname()[0])


def _unpacked(image: Path) -> io.BufferedIOBase:
    """The image's bytes as they land on the disk."""
    if image.suffix == ".gz":
        return gzip.open(image, "rb")
    if image.suffix == ".xz":
        return lzma.open(image, "rb")
    if image.suffix == ".bz2":
        return bz2.open(image, "rb")
    return image.open("rb")


def digest_of(image: Path) -> tuple[str, int]:
    """The sha256 and size of what lands on the disk: the image, unpacked if it is compressed."""
    digest, size = hashlib.sha256(), 0
    try:
        with _unpacked(image) as source:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    except (OSError, EOFError, lzma.LZMAError) as error:
        raise OSError(f"image {image.name} cannot be read: {error}") from None
    return digest.hexdigest(), size


class FlasherOs(Flasher[FlasherOsOptions]):
    """Writes images to the board's own disk through a network-booted flasher OS."""

    kind = "flasher-os"
    Options = FlasherOsOptions

    def __init__(self, options: FlasherOsOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.bootloader = context.referenced(options.bootloader, Bootloader)
        self.console = context.referenced(options.console, Console)
        self.power = context.referenced(options.power, Power)
        self.http = context.referenced(options.http, FileServer)
        self.tftp = context.referenced(options.tftp, FileServer)

    def flash(self, path: str | Path, target: str | None = None, **options: Any) -> None:
        """Write the image at `path` (raw, .gz, .xz, .bz2) to `target` (default: the `target` option)
        on the board, check the sha256 the board reads back, then power-cycle the board."""
        if options:
            raise TypeError(f"flash() got unexpected options: {', '.join(options)}")
        image = Path(path)
        disk = target or self.options.target
        if not image.is_file():
            raise DriverError(f"{self.context}: image {image} does not exist")
        try:
            digest, size = digest_of(image)
        except OSError as error:
            raise DriverError(f"{self.context}: {error}") from None
        self.context.logs.note(f"[hil] flasher-os: {image.name} ({size} bytes, sha256 {digest}) to {disk}")
        self._check_flasher_os()
        url = self._board_url(self.http.put(image))
        unpack = image.suffix.lstrip(".") if image.suffix in UNPACKERS else "raw"
        self._boot_flasher_os(f"hil.url={url} hil.target={disk} hil.size={size} hil.unpack={unpack}")
        reported = self._await_result(image.name, image.stat().st_size, urlsplit(url).path.lstrip("/"))
        if reported != (digest, size):
            got, count = reported
            raise DriverError(
                f"{self.context}: {image.name} on {disk} does not match: the board read back {count} bytes with"
                f" sha256 {got}, the image has {size} bytes with sha256 {digest}"
            )
        self.context.logs.note(f"[hil] flasher-os: {disk} holds {image.name} (sha256 checked on the board)")
        self.reset()

    def _check_flasher_os(self) -> None:
        for part, file in (("kernel", self.options.kernel), ("initramfs", self.options.initramfs)):
            if not Path(file).is_file():
                raise DriverError(f"{self.context}: the flasher OS's {part} {file} does not exist")

    def _board_url(self, url: str) -> str:
        """The http-server's URL with this machine's address as the board reaches it."""
        parts = urlsplit(url)
        return urlunsplit(parts._replace(netloc=f"{self._server()}:{parts.port}"))

    def _server(self) -> str:
        return self.options.server or outward_address()

    def _boot_flasher_os(self, words: str) -> None:
        kernel = self.tftp.put(self.options.kernel, "hil-flasher/kernel")
        initramfs = self.tftp.put(self.options.initramfs, "hil-flasher/initramfs")
        boot = self.bootloader
        boot.reboot_to_console()
        boot.dhcp()
        boot.env_set("serverip", self._server())
        boot.run_check(f"tftpboot {self.options.kernel_address} {kernel}", timeout=300)
        boot.run_check(f"tftpboot {self.options.initramfs_address} {initramfs}", timeout=300)
        boot.env_set("bootargs", f"{self.options.bootargs} {words} hil.iface={self.options.interface}")
        addresses = {"kernel": self.options.kernel_address, "initramfs": self.options.initramfs_address}
        boot.boot(self.options.boot_command.format(**addresses))

    def _await_result(self, title: str, total: int, served: str | None) -> tuple[str, int]:
        """Wait for the flasher's last line, showing the fetch of `served` as progress; (sha256, bytes)
        read back."""
        task = self.context.progress.task(f"flash {self.context.board} {self.context.resource}: {title}")
        try:
            digest, count = self._result(task, total, served)
        except DriverError:
            task.abandon()
            raise
        task.update(total, total)
        task.finish()
        return digest, count

    def _result(self, task: Task, total: int, served: str | None) -> tuple[str, int]:
        deadline = time.monotonic() + self.options.timeout
        while True:
            try:
                self.console.expect(RESULT, timeout=1)
                break
            except ConsoleTimeout:
                if served is not None:
                    task.update(min(self.http.sent(served), total), total)
                if time.monotonic() > deadline:
                    raise DriverError(
                        f"{self.context}: the flasher OS did not finish within {self.options.timeout:g} s"
                    ) from None
            except ConsoleClosed:
                raise DriverError(f"{self.context}: the console closed while the flasher OS ran") from None
        found = self.console.match
        assert found is not None
        if found["error"] is not None:
            raise DriverError(f"{self.context}: the flasher OS: {found['error'].strip()}")
        return found["digest"], int(found["bytes"])

    def reset(self) -> None:
        """Power-cycle the board (it boots what its disk now holds)."""
        self.context.logs.note("[hil] flasher-os: power cycle")
        self.power.off()
        self.power.on()

    def erase(self, target: str | None = None) -> None:
        """Write zeros over all of `target` (default: the `target` option), check them, power-cycle."""
        disk = target or self.options.target
        self._check_flasher_os()
        self._boot_flasher_os(f"hil.erase=1 hil.target={disk}")
        got, count = self._await_result(f"erase {disk}", 0, None)
        zeros, left = hashlib.sha256(), count
        block = bytes(1 << 20)
        while left:
            zeros.update(block[: min(left, len(block))])
            left -= min(left, len(block))
        if got != zeros.hexdigest():
            raise DriverError(f"{self.context}: {disk} is not all zeros after the erase ({count} bytes read back)")
        self.context.logs.note(f"[hil] flasher-os: {disk} erased ({count} bytes)")
        self.reset()
