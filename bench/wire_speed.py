"""Shell commands at the speed of the wire: the sim board and the QEMU board behind a 115200-baud
line (`baud: 115200`: 8N1, 11,520 bytes a second each way), and the QEMU board without a limit.
Each figure is a ratio against a baseline measured in the same run, over the same console:

- `shell.run("true")` against the bare exchange (`true` and a newline out, the board's own prompt
  back, echo off), target <= 1.3x at 115200 and <= 1.5x without a limit; also with the printf
  markers the shell falls back to (what every command cost before), and the bytes each one puts on
  the wire;
- `seq 1 2000` read through the shell against the line rate (target >= 0.95);
- from a login prompt to a usable shell against the wire time of what must be exchanged (target:
  at most that plus 20 ms).

    python bench/wire_speed.py [--runs 100] [--kernel PATH]   (QEMU needs a kernel and busybox)
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from shell_roundtrip import bench_options, login_time, qemu_kernel, timed

import pytest_hil.console.shell as shell_module
from pytest_hil.board import Board
from pytest_hil.console.shell import ConsoleShell, console_shell
from pytest_hil.console.stream_console import StreamConsole
from pytest_hil.lab import load_lab

BAUD = 115200
SIM_LAB = """
version: 1
boards:
  sim-w:
    resources:
      power: {{driver: sim-power, password: pw, boot_time: 0.2}}
      console: {{driver: sim-console, {baud}}}
    shell: {{username: root, password: pw, prompt: 'root@sim-w:\\S*# '}}
"""
QEMU_LAB = """
version: 1
boards:
  qemu-w:
    resources:
      vm: {{driver: qemu, kernel: "{kernel}", initrd: "{initrd}", append: "console=ttyS0 panic=-1 quiet", {baud}}}
    shell: {{console: vm, username: root, password: pw, prompt: 'root@hil-qemu:\\S*# ', boot_timeout: 60}}
"""
#: The framing prompt as a shell that does not expand it prints it: the shell falls back to printf markers.
LITERAL_PS1 = "PS1=\"$(printf '\\001')\"'\\$_h:\\$?'\"$(printf '\\001')\" PS2="


def bare_exchange(console: StreamConsole, prompt: str) -> Callable[[], None]:
    """`true` out, the board's own prompt back (echo off): the floor for one command."""

    def run() -> None:
        console.sendline("true")
        console.expect(prompt, timeout=10)

    return run


def measure(name: str, board: Board, runs: int, wire: bool) -> None:
    console = board.resource(board.spec.shell_console() or "console")
    assert isinstance(console, StreamConsole)
    prompt = board.spec.shell.prompt if board.spec.shell else "# "
    # login: from a login prompt (unread) to a usable shell: connected, set up, its first command run
    logins = [sum(login_time(board, console)) for _ in range(3)]
    shell = console_shell(board)
    shell.connect()
    shell.run("true")
    ours = timed(lambda: shell.run("true"), runs)
    line = f"_h={shell.count + 1};true"
    seq = timed(lambda: shell.run("seq 1 2000"), 3)
    seq_bytes = sum(len(str(n)) + 2 for n in range(1, 2001))  # CRLF line ends on the wire
    shell.close()
    console.sendline("stty -echo")
    console.expect(prompt, timeout=10)
    time.sleep(0.5)  # then nothing stale: each exchange below waits for its own prompt
    while console.read_nonblocking(65536, timeout=0.1):
        pass
    bare = timed(bare_exchange(console, prompt), runs)
    console.sendline("stty echo")
    console.expect(prompt, timeout=10)
    original, shell_module.FRAMING_PS1 = shell_module.FRAMING_PS1, LITERAL_PS1
    try:
        markers: ConsoleShell = console_shell(board)
        markers.connect()
        markers.run("true")
        assert markers.framing == "markers"
        before = timed(lambda: markers.run("true"), runs)
        markers.close()
    finally:
        shell_module.FRAMING_PS1 = original
    prompt_bytes = len(prompt.replace("\\S*", "~"))  # the prompt as the board prints it in its home
    new_out, new_back = len(line) + 1, len(f"\x01{shell.count}:0\x01\r\n")
    old_out = len("printf '%s%s\\n' HIL01234567 S; eval 'true'; printf '%s%s %d\\n' HIL01234567 E $?") + 1
    old_back = len("HIL01234567S\r\nHIL01234567E 0\r\n") + prompt_bytes
    print(f"\n{name}")
    print(f"  shell.run('true'): {ours * 1000:.2f} ms; bare exchange {bare * 1000:.2f} ms: "
          f"{ours / bare:.2f}x (target <= {1.3 if wire else 1.5}); printf markers (before) {before * 1000:.2f} ms: "
          f"{before / bare:.2f}x")  # fmt: skip
    print(f"  bytes for 'true': {new_out} out, {new_back} back (before: {old_out} out, {old_back} back; bare: "
          f"5 out, {prompt_bytes} back)")  # fmt: skip
    if wire:
        rate = seq_bytes / seq
        print(f"  seq 1 2000: {rate:.0f} B/s = {rate / (BAUD / 10):.2f} of the line rate (target >= 0.95)")
        exchanged = len("root\npw\n") + len("Password: ") + prompt_bytes + 160  # answers, prompts, setup line
        floor = exchanged * 10 / BAUD
        login = statistics.median(logins)
        print(f"  login prompt -> usable shell: {login * 1000:.0f} ms; wire time of what is exchanged "
              f"{floor * 1000:.0f} ms + 20 ms = {(floor + 0.02) * 1000:.0f} ms")  # fmt: skip
    else:
        print(f"  login prompt -> usable shell: {statistics.median(logins) * 1000:.0f} ms")


def main() -> None:
    options = bench_options(__doc__ or "", runs=100)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "sim.yaml").write_text(SIM_LAB.format(baud=f"baud: {BAUD}"))
        with Board(load_lab(folder / "sim.yaml").boards["sim-w"], folder) as board:
            measure(f"sim board at {BAUD} baud", board, options.runs, wire=True)
        kernel = qemu_kernel(options.kernel)
        if kernel is None:
            return
        from hil_drivers.qemu.initramfs import build_initramfs

        initrd = build_initramfs(folder / "initramfs.cpio.gz", password="pw")
        for baud, wire in ((f"baud: {BAUD}", True), ("timeout: 30", False)):
            (folder / "qemu.yaml").write_text(QEMU_LAB.format(kernel=kernel.resolve(), initrd=initrd, baud=baud))
            with Board(load_lab(folder / "qemu.yaml").boards["qemu-w"], folder) as board:
                label = f"at {BAUD} baud" if wire else "without a baud limit"
                measure(f"QEMU board {label}", board, options.runs, wire=wire)


if __name__ == "__main__":
    main()
