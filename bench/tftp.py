"""TFTP to a real U-Boot: the Debian kernel (~14 MB) fetched with `tftpboot` by U-Boot in QEMU, from
the `tftp-server` resource and, in the same run, from tftpd-hpa (Debian's in.tftpd) on the same port.
Target: ours at least 0.8x tftpd-hpa's rate. Each fetch is by a fresh QEMU; the two servers take
turns. Needs root (U-Boot only asks port 69), u-boot-qemu, a kernel (.ci/stand-ins) and tftpd-hpa
(`apt-get install tftpd-hpa`, its service stopped: it holds port 69); so not in `tox -e bench`.

    sudo python bench/tftp.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hil_drivers.servers.tftp import TftpServer, TftpServerOptions
from pytest_hil.board import Board
from pytest_hil.console.log import BoardLogs
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import Bootloader, DriverContext
from pytest_hil.lab import load_lab

ROM = Path("/usr/lib/u-boot/qemu-x86/u-boot.rom")
LAB = """\
version: 1
boards:
  b:
    resources:
      vm: {{driver: qemu, arch: i386, bios: {rom}, memory: 256M, network: true, nic_model: e1000, timeout: 60}}
      boot: {{driver: uboot, console: vm, power: vm}}
"""


def outward_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.254", 9))
        return str(probe.getsockname()[0])


def wait_bound(port: int) -> None:
    """Wait until something listens on UDP `port` (in.tftpd takes a moment to start)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("0.0.0.0", port))
            except OSError:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on UDP {port}")


def fetch(uboot: Bootloader, name: str, size: int) -> float:
    """Seconds U-Boot takes for `tftpboot` of `name` (the whole command, as a user waits for it)."""
    started = time.perf_counter()
    output = uboot.run_check(f"tftpboot 0x3000000 {name}", timeout=300)
    took = time.perf_counter() - started
    if f"Bytes transferred = {size}" not in output:
        raise RuntimeError(f"tftpboot did not fetch {size} bytes: {output[-300:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kernel", type=Path, default=Path(".ci/cache/kernel/vmlinuz"))
    options = parser.parse_args()
    daemon = shutil.which("in.tftpd")
    if os.geteuid() != 0 or not ROM.is_file() or daemon is None or not options.kernel.exists():
        sys.exit("needs root, u-boot-qemu, tftpd-hpa (in.tftpd) and a kernel (.ci/stand-ins)")
    kernel = options.kernel.resolve()
    size = kernel.stat().st_size
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "root"
        root.mkdir()
        shutil.copyfile(kernel, root / "vmlinuz")
        (Path(folder) / "lab.yaml").write_text(LAB.format(rom=ROM))
        lab = load_lab(Path(folder) / "lab.yaml")
        ours: list[float] = []
        theirs: list[float] = []

        failed = {"tftp-server": 0, "tftpd-hpa": 0}

        def measure(times: list[float], server: str) -> None:
            """One tftpboot by a U-Boot of its own (a fresh QEMU each time); a fetch U-Boot gives up
            on is counted, not timed."""
            with Board(lab.boards["b"], Path(folder)) as board:
                uboot = board.get(Bootloader, "boot")
                uboot.reboot_to_console()
                uboot.dhcp()
                uboot.env_set("serverip", outward_address())
                try:
                    times.append(fetch(uboot, "vmlinuz", size))
                except DriverError:
                    failed[server] += 1

        context = DriverContext("b", "files", Path(folder), {}, BoardLogs("b"))
        settings = TftpServerOptions(root=root, host="0.0.0.0", port=69)
        for _ in range(options.rounds):  # interleaved: the machine's load falls on both alike
            # -u root: the temporary folder is the bench's own (0700), out of reach of tftpd's usual user
            tftpd = subprocess.Popen([daemon, "-L", "-u", "root", "-s", str(root), "-a", "0.0.0.0:69"])
            try:
                wait_bound(69)
                measure(theirs, "tftpd-hpa")
            finally:
                tftpd.terminate()
                tftpd.wait()
            with TftpServer(settings, context) as files:  # ours on port 69 while this block runs
                files.put(root / "vmlinuz")
                measure(ours, "tftp-server")
    mine, base = statistics.median(ours), statistics.median(theirs)
    mb = size / 1e6
    print(f"tftpboot of {mb:.1f} MB by U-Boot in QEMU: tftp-server {mb / mine:.1f} MB/s ({mine:.2f} s), "
          f"tftpd-hpa {mb / base:.1f} MB/s ({base:.2f} s): {base / mine:.2f}x (target >= 0.8x); "
          f"medians of {len(ours)} and {len(theirs)}; fetches U-Boot gave up on: {failed}")  # fmt: skip


if __name__ == "__main__":
    main()
