"""`hil shell`: lease a board, then run a command (or your shell) that uses it, and release it when that
ends: `hil shell --select family=rpi4 -- pytest tests/` is a whole CI job.

The command gets `HIL_LAB`, `HIL_BOARD` (the default of `--hil-board`) and `HIL_LEASE_TOKEN`: pytest
run inside uses the shell's lease instead of asking for the board again. The lease is renewed while
the command runs and released when it ends, also when `hil shell` is stopped by SIGTERM or SIGHUP
(the signal is passed to the command first). If the lease is lost (released by force), the command
is stopped.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Any

from pytest_hil.cli.common import lab_path, load_or_report, open_lab_store
from pytest_hil.cli.lease_commands import duration, wanted_boards
from pytest_hil.errors import LeaseLost, LeaseTimeout
from pytest_hil.leases import HeldLease, Holder, Waiting
from pytest_hil.leases.handoff import hand_over

#: Seconds between looks at the command and the lease while the command runs.
LOOK_EVERY = 0.2


def add_parser(verbs: Any) -> None:
    shell = verbs.add_parser(
        "shell",
        help="lease a board, run COMMAND (or your $SHELL) with HIL_BOARD set, release it after",
        usage="hil shell [BOARD | --select SELECTOR] [--for DURATION] [--wait SECONDS] [-- COMMAND...]",
    )
    shell.add_argument("board", nargs="?", help="the board (or --select)")
    shell.add_argument("--select", metavar="SELECTOR", help="any free board matching the selector")
    shell.add_argument("--for", dest="duration", type=duration, default=None, metavar="DURATION",
                       help="stop the command after this long (default: as long as it runs)")  # fmt: skip
    shell.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                       help="wait at most this long for the board (default: as long as it takes)")  # fmt: skip
    shell.set_defaults(run=run_shell, command=[])  # the command: what follows --, taken by main()


def run_shell(args: argparse.Namespace) -> int:
    command = list(args.command)
    lab = load_or_report(lab_path(args))
    if lab is None:
        return 1
    candidates = wanted_boards(args, lab, "shell")
    if isinstance(candidates, int):
        return candidates
    store = open_lab_store(lab)

    def tell(waiting: Waiting) -> None:
        for info in waiting.holders:
            since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.since))
            print(f"hil: waiting for {info.board}: held by {info.holder} since {since}", file=sys.stderr)

    try:
        grant = store.acquire([candidates], Holder.this_process(), timeout=args.wait, on_wait=tell)
    except LeaseTimeout as error:
        print(f"hil: {error}", file=sys.stderr)
        store.close()
        return 1
    (board,) = grant.boards
    lease = HeldLease(store, grant, lab.leases.ttl)
    try:
        return _run(command, board, lab.path.resolve(), grant.token, lease, args.duration)
    finally:
        if not lease.lost:
            lease.release()
        store.close()


def _run(command: list[str], board: str, lab: Any, token: str, lease: HeldLease, limit: float | None) -> int:
    env = {**os.environ, "HIL_LAB": str(lab), **hand_over(board, token)}
    if not command:  # an interactive shell whose prompt names the board
        command = [os.environ.get("SHELL") or "/bin/sh"]
        env["PS1"] = f"[hil {board}] $ "
        print(f"hil shell: {board} is yours until this shell exits", file=sys.stderr)
    try:
        child = subprocess.Popen(command, env=env)
    except OSError as error:
        print(f"hil shell: cannot run {command[0]}: {error.strerror or error}", file=sys.stderr)
        return 127
    stopped: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.append(signum)
        child.send_signal(signum)  # the command ends first; the lease is released after it

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    deadline = None if limit is None else time.monotonic() + limit
    try:
        while child.poll() is None:
            try:
                lease.check(board)
            except LeaseLost as error:
                print(f"hil shell: {error}: stopping the command", file=sys.stderr)
                _end(child)
                return 1
            if deadline is not None and time.monotonic() > deadline:
                print(f"hil shell: --for {limit:g} s is over: stopping the command", file=sys.stderr)
                _end(child)
                return 124
            try:
                child.wait(timeout=LOOK_EVERY)
            except subprocess.TimeoutExpired:
                continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stopped:
        return 128 + stopped[0]
    status = child.returncode
    return 128 - status if status < 0 else status


def _end(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
