"""`hil console` and `hil run`: a board's console by hand, and one command through its shell."""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import sys
import termios
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pytest_hil.board import Board
from pytest_hil.cli.common import board_or_report, lab_path, load_or_report, open_lab_store
from pytest_hil.cli.lab_host import LabHost, on_this_host
from pytest_hil.cli.lease_commands import board_lease
from pytest_hil.console import live
from pytest_hil.console.log import BoardLogs
from pytest_hil.console.shell import console_shell, quote
from pytest_hil.console.stream_console import StreamConsole
from pytest_hil.errors import HilError
from pytest_hil.interfaces import Power
from pytest_hil.lab.model import ResourceSpec
from pytest_hil.leases import LeaseStore
from pytest_hil.progress import SILENT, Progress

#: Ctrl-] starts an escape: then `q` leaves, Ctrl-] sends a Ctrl-] to the board.
ESCAPE = b"\x1d"
#: `hil run`'s own failures (no shell, refused login), told apart from the command's statuses like ssh does.
RUN_FAILED = 255


def add_parsers(verbs: Any) -> None:
    console = verbs.add_parser(
        "console", help="interactive terminal on a board's console; Ctrl-] then q leaves (logged)"
    )
    console.add_argument("board")
    console.add_argument("resource", nargs="?", help="console resource (default: the board's shell console)")
    console.add_argument("--log-dir", default="hil-logs", help="where the session log goes (default: hil-logs)")
    console.add_argument(
        "--watch", action="store_true", help="follow the console read-only while someone else holds the board"
    )
    console.set_defaults(run=run_console)
    run = verbs.add_parser("run", help="run a command through the board's shell; its exit code is hil's")
    run.add_argument("board")
    run.add_argument("command", nargs=argparse.REMAINDER, help="after --: the command, joined with spaces")
    run.add_argument("--timeout", type=float, default=None, help="seconds the command may take")
    run.add_argument("--log-dir", default=None, help="also keep the console log here")
    run.set_defaults(run=run_command)
    power = verbs.add_parser("power", help="switch a board's power: on, off, cycle, or print its status")
    power.add_argument("board")
    power.add_argument("action", choices=("on", "off", "cycle", "status"))
    power.add_argument("--off-time", type=float, default=1.0, help="seconds off during a cycle (default 1)")
    power.set_defaults(run=run_power)


@contextlib.contextmanager
def open_board(args: argparse.Namespace, log_dir: str | None, progress: Progress = SILENT) -> Iterator[Board | None]:
    """The named board of the lab, leased for the command (unless it is one of your `hil lease`
    leases), with its console logs under `log_dir`; None after reporting why not."""
    lab = load_or_report(lab_path(args))
    if lab is None:
        yield None
        return
    spec = board_or_report(lab, args.board)
    if spec is None:
        yield None
        return
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(board_lease(lab, spec.name))
        except HilError as error:
            print(f"hil: {error}", file=sys.stderr)
            yield None
            return
        board = Board(
            spec, lab.path.parent, BoardLogs(spec.name, Path(log_dir) if log_dir else None, lab.secrets), progress
        )
        try:
            yield board
        finally:
            board.close()


def lab_host_of(args: argparse.Namespace) -> LabHost | None:
    """The lab host of the named board when it has `host:` (checked: reachable, the same pytest-hil,
    the lab file there); None for a board attached here, or a lab or board that does not exist (the
    local path says why)."""
    lab = load_or_report(lab_path(args))
    if lab is None or args.board not in lab.boards:
        return None
    name = lab.boards[args.board].host
    if name is None or on_this_host(name):
        return None
    host = LabHost(lab, name)
    host.check()
    return host


def on_lab_host(host: LabHost, board: str, arguments: list[str], tty: bool = False, quiet: bool = False) -> int:
    """`hil ARGUMENTS` on the lab host, under this caller's lease of `board`; its exit status."""
    with board_lease(host.lab, board) as token:
        return host.hil(arguments, board, token, tty=tty, quiet=quiet)


#: What a user of `hil` needs to know about simulated and QEMU boards.
VIRTUAL = (
    "hil: note: {board} is a virtual board ({kind}): it runs inside the hil command that uses it and is off "
    "again once that command ends, so separate hil commands do not share it; use hil run or hil console "
    "(each powers it on for its own length) or pytest"
)


def run_command(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("hil run: give the command after --, e.g. hil run BOARD -- uname -a", file=sys.stderr)
        return 2
    try:
        host = lab_host_of(args)
        if host is not None:
            options = ["--timeout", str(args.timeout)] if args.timeout else []
            options += ["--log-dir", args.log_dir] if args.log_dir else []  # on the lab host, under remote.chdir
            return on_lab_host(host, args.board, ["run", *options, args.board, "--", *command])
    except HilError as error:
        print(f"hil: {error}", file=sys.stderr)
        return RUN_FAILED
    with open_board(args, args.log_dir) as board:
        if board is None:
            return 1
        try:
            with console_shell(board) as shell:  # leaves the terminal's echo as it found it
                shell.connect()
                # one argument is a shell command line (`hil run b -- 'dmesg | tail'`); several are a
                # program and its arguments, kept apart as given (`hil run b -- sh -c 'echo out; exit 5'`)
                line = command[0] if len(command) == 1 else " ".join(quote(part) for part in command)
                result = shell.run(line, timeout=args.timeout)
        except HilError as error:
            print(f"hil: {error}", file=sys.stderr)
            return RUN_FAILED
        sys.stdout.write(result.stdout)
        sys.stdout.flush()
        return result.exit_code


def run_power(args: argparse.Namespace) -> int:
    try:
        host = lab_host_of(args)
        if host is not None:
            arguments = ["power", args.board, args.action, "--off-time", str(args.off_time)]
            return on_lab_host(host, args.board, arguments)
    except HilError as error:
        print(f"hil: {error}", file=sys.stderr)
        return 1
    with open_board(args, None) as board:
        if board is None:
            return 1
        try:
            power = board.interface("power")
        except KeyError as error:
            print(f"hil: {error.args[0]}", file=sys.stderr)
            return 1
        assert isinstance(power, Power)
        try:
            if args.action == "on":
                power.on()
            elif args.action == "off":
                power.off()
            elif args.action == "cycle":
                power.cycle(off_time=args.off_time)
            state = power.state()
        except HilError as error:
            print(f"hil: {error}", file=sys.stderr)
            return 1
        print(f"{board.name}: {'on' if state else 'off' if state is False else 'unknown'}")
        if power.process_bound:
            print(VIRTUAL.format(board=board.name, kind=power.kind), file=sys.stderr)
        return 0


def run_console(args: argparse.Namespace) -> int:
    try:
        host = lab_host_of(args)
        if host is not None and args.watch:  # the log is on the lab host: follow it there, unleased
            return host.follow(args.board, args.resource)
        if host is not None:  # ssh -t: the terminal (raw mode, window size) reaches the console there
            arguments = ["console", "--log-dir", args.log_dir, args.board, *([args.resource] if args.resource else [])]
            return on_lab_host(host, args.board, arguments, tty=sys.stdin.isatty())
    except HilError as error:
        print(f"hil: {error}", file=sys.stderr)
        return 1
    if args.watch:
        return watch_console(args)
    with open_board(args, args.log_dir) as board:
        if board is None:
            return 1
        name = args.resource or board.spec.shell_console()
        if name is None or name not in board.spec.resources:
            print(f"hil: board {board.name} has no console {name or ''!r}: name one", file=sys.stderr)
            return 1
        console = board.resource(name)
        if not isinstance(console, StreamConsole):
            print(f"hil: {board.name}.{name} is not a console", file=sys.stderr)
            return 1
        found = board.spec.resource_for("power")
        power = board.resource(found.name) if isinstance(found, ResourceSpec) else None
        if isinstance(power, Power) and power.process_bound:  # a virtual board is off outside its command
            print(VIRTUAL.format(board=board.name, kind=power.kind) + "\r", file=sys.stderr)
            power.on()
        print(f"hil: console {board.name}.{name}; Ctrl-] then q leaves\r", file=sys.stderr)
        return interact(console)


def watch_console(args: argparse.Namespace, stdout: int = 1) -> int:
    """Follow the log of the console a session is writing: no lease, no input; Ctrl-C ends it."""
    lab = load_or_report(lab_path(args))
    if lab is None:
        return 1
    spec = board_or_report(lab, args.board)
    if spec is None:
        return 1
    name = args.resource or spec.shell_console()
    if name is None or name not in spec.resources:
        print(f"hil: board {spec.name} has no console {name or ''!r}: name one", file=sys.stderr)
        return 1
    with open_lab_store(lab) as store:
        follower = Follower(f"{spec.name}.{name}", stdout)
        holder = _held_by(store, spec.name)
        print(f"hil: watching {spec.name}.{name} read-only ({holder}); Ctrl-C ends", file=sys.stderr, flush=True)
        looked = time.monotonic()
        while True:
            follower.step()
            if time.monotonic() - looked > HOLDER_EVERY:
                looked = time.monotonic()
                now = _held_by(store, spec.name)
                if now != holder:
                    holder = now
                    print(f"\r\nhil: {spec.name} is now {holder}", file=sys.stderr, flush=True)
            time.sleep(FOLLOW_EVERY)


#: Seconds between looks at the log being followed (lines show within this), and at who holds the board.
FOLLOW_EVERY, HOLDER_EVERY = 0.05, 2.0


def _held_by(store: LeaseStore, board: str) -> str:
    info = store.holders().get(board)
    if info is None:
        return "not held"
    return f"held by {info.holder} since {time.strftime('%H:%M:%S', time.localtime(info.since))}"


class Follower:
    """Copies what is added to a console's live log to `out`; moves to a new session's log when the
    console's link points elsewhere (the last lines of the log it starts on are shown first)."""

    def __init__(self, name: str, out: int, tail: int = 4096) -> None:
        self.link = live.link_path(name)
        self.out = out
        self.tail = tail
        self.target: str | None = None
        self.file: Any = None

    def step(self) -> None:
        try:
            target = os.readlink(self.link)
        except OSError:
            target = None
        if target != self.target:
            if self.file is not None:
                self.file.close()
                self.file = None
            self.target = target
            if target is not None:
                with contextlib.suppress(OSError):
                    self.file = open(target, "rb")  # noqa: SIM115 - kept open while it is followed
                    size = os.fstat(self.file.fileno()).st_size
                    self.file.seek(max(size - self.tail, 0))
        if self.file is not None:
            data = self.file.read()
            if data:
                os.write(self.out, data)


def interact(console: StreamConsole, stdin: int = 0, stdout: int = 1) -> int:
    """Copy keys to the board and its output to the terminal until Ctrl-] q."""
    done = threading.Event()

    def show() -> None:
        while not done.is_set():
            text = console.read_nonblocking(65536, timeout=0.1)
            if text:
                os.write(stdout, text.encode())

    printer = threading.Thread(target=show, daemon=True)
    printer.start()
    with _raw(stdin):
        escaped = False
        while True:
            ready, _, _ = select.select([stdin], [], [], 0.2)
            if not ready:
                continue
            keys = os.read(stdin, 1024)
            if not keys:
                break
            out = bytearray()
            for key in keys:
                byte = bytes([key])
                if escaped:
                    escaped = False
                    if byte in (b"q", b"Q", b"."):
                        done.set()
                        break
                    out += ESCAPE if byte == ESCAPE else ESCAPE + byte
                elif byte == ESCAPE:
                    escaped = True
                else:
                    out += byte
            if out:
                console.send(bytes(out))
            if done.is_set():
                break
    done.set()
    printer.join(timeout=1)
    os.write(stdout, b"\r\n")
    return 0


@contextlib.contextmanager
def _raw(fd: int) -> Iterator[None]:
    """The terminal in raw mode (keys pass through as typed), restored afterwards."""
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
