"""Shell figures on the sim board and the QEMU board, each against a baseline measured in the same run:
a hand-written pexpect loop (`cmd; echo MARK$?`, echo on, as people write it) over the same console.

- round trip of `shell.run("true")` (target on QEMU: <= 20 ms; labgrid 71 ms, the pexpect loop 24 ms)
- a command printing 64 KB, and output rate of `seq 1 20000` (109 kB; target on QEMU >= 170 kB/s)
- from a login prompt on the console to a usable shell (target <= 0.05 s; labgrid 0.14 s), and the first
  command after it, which also turns echo off

    python bench/shell_roundtrip.py [--runs 200] [--kernel PATH]   (QEMU needs a kernel and busybox)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pytest_hil.board import Board
from pytest_hil.console.shell import ConsoleShell, console_shell
from pytest_hil.console.stream_console import StreamConsole
from pytest_hil.interfaces import Power
from pytest_hil.lab import load_lab

SIM_LAB = """
version: 1
boards:
  sim-bench:
    resources:
      power: {driver: sim-power, password: pw, boot_time: 0.2}
      console: {driver: sim-console}
    shell: {username: root, password: pw, prompt: 'root@sim-bench:\\S*# '}
"""
QEMU_LAB = """
version: 1
boards:
  qemu-bench:
    resources:
      vm: {{driver: qemu, kernel: "{kernel}", initrd: "{initrd}", append: "console=ttyS0 panic=-1 quiet"}}
    shell: {{console: vm, username: root, password: pw, prompt: 'root@hil-qemu:\\S*# ', boot_timeout: 60}}
"""


def timed(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def login_time(board: Board, console: StreamConsole) -> tuple[float, float]:
    """Seconds from a login prompt on the console (unread) to a shell prompt (`connect()` returns),
    and then for the first command (which also turns echo off)."""
    board.get(Power).cycle(off_time=0.2)
    deadline = time.monotonic() + 60
    while not console.log.recent_lines(1).rstrip().endswith("login:") and time.monotonic() < deadline:
        time.sleep(0.005)
    shell = console_shell(board)
    started = time.perf_counter()
    shell.connect()
    connected = time.perf_counter()
    shell.run("true")
    return connected - started, time.perf_counter() - connected


def pexpect_loop(console: StreamConsole, prompt: str) -> Callable[[str], str]:
    """The baseline: send `cmd; echo MARK$?`, wait for the status, then the prompt."""

    def run(command: str) -> str:
        console.sendline(f"{command}; echo MARK$?")
        console.expect(r"MARK(\d+)\r?\n", timeout=60, searchwindowsize=256)
        output = console.before
        console.expect(prompt, timeout=10)
        return output

    return run


def measure(name: str, board: Board, runs: int) -> None:
    console = board.resource(board.spec.shell_console() or "console")
    assert isinstance(console, StreamConsole)
    logins = [login_time(board, console) for _ in range(3)]
    shell: ConsoleShell = console_shell(board)
    shell.connect()
    ours_true = timed(lambda: shell.run("true"), runs)
    ours_64k = timed(lambda: shell.run("yes 0123456789abcdef | head -c 65536"), 10)
    ours_seq = timed(lambda: shell.run("seq 1 20000"), 5)
    shell.run("stty echo")  # the baseline types as people do, echo on
    baseline = pexpect_loop(console, shell.spec.prompt)
    baseline("true")
    base_true = timed(lambda: baseline("true"), runs)
    base_64k = timed(lambda: baseline("yes 0123456789abcdef | head -c 65536"), 10)
    base_seq = timed(lambda: baseline("seq 1 20000"), 5)
    size = len("\n".join(str(number) for number in range(1, 20001)).encode()) + 20000  # CRLF line ends
    ours_rate, base_rate = size / ours_seq / 1000, size / base_seq / 1000
    print(f"\n{name}")
    print(f"  shell.run('true'): {ours_true * 1000:.2f} ms ({1 / ours_true:.0f}/s); "
          f"pexpect loop {base_true * 1000:.2f} ms; ratio {base_true / ours_true:.1f}x faster")  # fmt: skip
    print(f"  64 KB of output: {ours_64k * 1000:.1f} ms; pexpect loop {base_64k * 1000:.1f} ms; "
          f"ratio {base_64k / ours_64k:.2f}")  # fmt: skip
    print(f"  seq 1 20000 (109 kB): {ours_rate:.0f} kB/s; pexpect loop {base_rate:.0f} kB/s; "
          f"ratio {ours_rate / base_rate:.2f}")  # fmt: skip
    login = statistics.median(first for first, _ in logins)
    first_command = statistics.median(second for _, second in logins)
    print(f"  login prompt -> usable shell: median {login * 1000:.0f} ms of {len(logins)} boots "
          f"(target <= 50 ms); then the first command {first_command * 1000:.0f} ms")  # fmt: skip


def bench_options(doc: str, runs: int) -> argparse.Namespace:
    """--runs and --kernel, as the shell benchmarks take them."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--kernel", type=Path, default=None, help="kernel for the QEMU board")
    return parser.parse_args()


def qemu_kernel(given: Path | None) -> Path | None:
    """The kernel for the QEMU board: --kernel, else the one .ci/stand-ins fetched (None: say so)."""
    kernel = given or next(iter(sorted(Path(".ci/cache/kernel/boot").glob("vmlinuz-*"))), None)
    if kernel is None:
        print("\nQEMU board: skipped (no kernel: run .ci/stand-ins or pass --kernel)", file=sys.stderr)
    return kernel


def main() -> None:
    options = bench_options(__doc__ or "", runs=200)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "sim.yaml").write_text(SIM_LAB)
        board = Board(load_lab(folder / "sim.yaml").boards["sim-bench"], folder)
        try:
            measure("sim board", board, options.runs)
        finally:
            board.close()
        kernel = qemu_kernel(options.kernel)
        if kernel is None:
            return
        from hil_drivers.qemu.initramfs import build_initramfs

        initrd = build_initramfs(folder / "initramfs.cpio.gz", password="pw")
        (folder / "qemu.yaml").write_text(QEMU_LAB.format(kernel=kernel.resolve(), initrd=initrd))
        board = Board(load_lab(folder / "qemu.yaml").boards["qemu-bench"], folder)
        try:
            measure("QEMU board (TCG, Debian cloud kernel, busybox)", board, options.runs)
        finally:
            board.close()


if __name__ == "__main__":
    main()
