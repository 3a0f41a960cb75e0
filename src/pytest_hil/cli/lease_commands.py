"""`hil lease`, `hil release`, `hil leases`, and the lease every board-touching command takes."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from typing import Any

from pytest_hil.cli.common import board_or_report, lab_path, load_or_report, open_lab_store, store_url, table
from pytest_hil.cli.tokens import TokenFileError, check_writable, store_token, tokens
from pytest_hil.errors import HilError, LeaseTimeout, SelectorError
from pytest_hil.lab import Lab, parse_selector
from pytest_hil.lab_status import entry_json
from pytest_hil.leases import HeldLease, Holder, LeaseInfo, LeaseStore, Waiting, open_store
from pytest_hil.leases.handoff import handed_lease
from pytest_hil.text import printable

DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def add_parsers(verbs: Any) -> None:
    lease = verbs.add_parser("lease", help="hold a board (or one matching --select) beyond this command, for a while")
    lease.add_argument("board", nargs="?")
    lease.add_argument("--select", metavar="SELECTOR", help="any free board matching, e.g. family=rpi4")
    lease.add_argument("--for", dest="duration", default="1h", type=duration, help="how long (90s, 30m, 1h30m; 1h)")
    lease.add_argument("--wait", type=float, default=None, metavar="SECONDS", help="give up after (default: wait)")
    lease.add_argument("--json", action="store_true", help="print the lease as JSON")
    lease.set_defaults(run=run_lease)
    release = verbs.add_parser("release", help="release boards leased with hil lease (all of yours by default)")
    release.add_argument("board", nargs="?")
    release.add_argument("--force", action="store_true", help="release someone else's lease (needs --reason)")
    release.add_argument("--reason", help="why, recorded in the history")
    release.set_defaults(run=run_release)
    leases = verbs.add_parser("leases", help="who holds which board (or --history: past leases, utilization)")
    leases.add_argument("lab_file", nargs="?", metavar="LAB", help="the lab (none, with HIL_LEASE_URL: every lab's)")
    leases.add_argument("--history", action="store_true")
    leases.add_argument("--limit", type=int, default=50, help="history entries per page (default 50)")
    leases.add_argument("--page", type=int, default=1, help="history page, from 1 (newest first)")
    leases.add_argument("--json", action="store_true", help="JSON for scripts")
    leases.add_argument("--init", action="store_true", help="create or upgrade the store's schema, then say so")
    leases.set_defaults(run=run_leases)


def duration(text: str) -> float:
    """`90s`, `30m`, `2h`, `1h30m`, `1.5h` (a bare number is seconds) as seconds, more than 0."""
    compact = text.strip().replace(" ", "")
    parts = DURATION_PART.findall(compact)
    if not compact or "".join(number + unit for number, unit in parts) != compact:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 30m, 2h or 1h30m")
    seconds = sum(float(number) * UNITS[unit] for number, unit in parts)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a lease must last more than 0 seconds")
    return seconds


def tokens_key(lab: Lab) -> str:
    """What this user's `hil lease` tokens are filed under: the store, and the lab within it."""
    return store_url(lab) + (f"#{lab.name}" if lab.name else "")


def _since(info: LeaseInfo) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.since))


def _until(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))


@contextlib.contextmanager
def board_lease(lab: Lab, board: str) -> Iterator[str]:
    """Use `board` in a command: a lease handed to this process (`hil shell`, a caller on another
    machine), one of your `hil lease` leases, or one taken for the command's length; a board someone
    else holds is refused, naming the holder. Yields the lease's token."""
    url = tokens_key(lab)
    store = open_lab_store(lab)
    try:
        handed = handed_lease()
        mine = handed[1] if handed is not None and handed[0] == board else tokens(url).get(board)
        if mine is not None and store.token_of(board) == mine:
            yield mine
            return
        try:
            grant = store.acquire([[board]], Holder.this_process(), timeout=0)
        except LeaseTimeout:
            info = store.holders().get(board)
            holder = f"{info.holder} since {_since(info)}" if info else "someone"
            raise HilError(
                f"board {board} is leased by {holder}; wait for it (hil lease {board} --wait SECONDS), "
                f"or if it is stuck: hil release --force {board} --reason ..."
            ) from None
        lease = HeldLease(store, grant, lab.leases.ttl)
        try:
            yield grant.token
        finally:
            lease.release()
    finally:
        store.close()


def wanted_boards(args: argparse.Namespace, lab: Lab, verb: str) -> list[str] | int:
    """The boards a `BOARD | --select SELECTOR` command may take, or its exit status after saying why
    there are none (2: a usage mistake)."""
    if bool(args.board) == bool(args.select):
        print(f"hil {verb}: name a BOARD or give --select SELECTOR", file=sys.stderr)
        return 2
    if args.board:
        if board_or_report(lab, args.board) is None:
            return 1
        return [args.board]
    try:
        selector = parse_selector(args.select, lab.selectors)
    except SelectorError as error:
        print(f"hil {verb}: --select: {error}", file=sys.stderr)
        return 2
    candidates = [name for name, spec in lab.boards.items() if selector.matches(spec.labels)]
    if not candidates:
        print(f"hil {verb}: no board matches {args.select}", file=sys.stderr)
        return 1
    return candidates


def run_lease(args: argparse.Namespace) -> int:
    lab = load_or_report(lab_path(args))
    if lab is None:
        return 1
    candidates = wanted_boards(args, lab, "lease")
    if isinstance(candidates, int):
        return candidates
    url = tokens_key(lab)
    check_writable()  # a lease whose token could not be kept could only be ended by force
    store = open_lab_store(lab)

    def tell(waiting: Waiting) -> None:
        for info in waiting.holders:
            print(f"hil: waiting for {info.board}: held by {info.holder} since {_since(info)}", file=sys.stderr)

    try:
        grant = store.acquire([candidates], Holder.this_process(), ttl=args.duration, timeout=args.wait, on_wait=tell)
    except LeaseTimeout as error:
        print(f"hil: {error}", file=sys.stderr)
        return 1
    (board,) = grant.boards
    try:
        store_token(url, board, grant.token)
    except TokenFileError:
        store.release(grant.token, board=board)
        raise
    until = time.time() + args.duration
    if args.json:
        print(json.dumps({"board": board, "until": until, "store": store.backend.describe()}))
    else:
        print(f"leased {board} until {_until(until)} (hil release {board} ends it sooner)")
    return 0


def run_release(args: argparse.Namespace) -> int:
    lab = load_or_report(lab_path(args))
    if lab is None:
        return 1
    url = tokens_key(lab)
    store = open_lab_store(lab)
    if args.force:
        if not args.board or not args.reason:
            print("hil release --force: name the BOARD and give --reason (it is recorded)", file=sys.stderr)
            return 2
        info = store.force_release(args.board, args.reason, Holder.this_process())
        print(f"released {args.board} (was held by {info.holder})" if info else f"{args.board} was not leased")
        return 0
    mine = tokens(url)
    boards = [args.board] if args.board else sorted(mine)
    if args.board and args.board not in mine:
        info = store.holders().get(args.board)
        holder = f"it is held by {info.holder}" if info else "it is not leased"
        print(f"hil: you hold no lease on {args.board} ({holder})", file=sys.stderr)
        return 1
    for board in boards:
        released = store.release(mine[board], board=board)
        store_token(url, board, None)
        print(f"released {board}" if released else f"{board}: your lease had already ended")
    return 0


def run_leases(args: argparse.Namespace) -> int:
    if not (args.lab_file or args.lab or os.environ.get("HIL_LAB")) and os.environ.get("HIL_LEASE_URL"):
        return _run_leases(args, None, open_store(os.environ["HIL_LEASE_URL"], all_labs=True))
    lab = load_or_report(lab_path(args))
    if lab is None:
        return 1
    return _run_leases(args, lab, open_lab_store(lab))  # opening creates or migrates the schema


def _run_leases(args: argparse.Namespace, lab: Lab | None, store: LeaseStore) -> int:
    """`hil leases` on a lab's view of the store, or (no lab) on every lab's boards."""
    if args.init:
        print(f"lease store {store.backend.describe()}: schema version {store.migrate()}")
        return 0
    if args.history:
        entries = store.history(limit=args.limit, offset=max(args.page - 1, 0) * args.limit)
        if args.json:
            print(json.dumps([entry_json(entry) for entry in entries], indent=1))
            return 0
        rows = [("BOARD", "HOLDER", "START", "END", "OUTCOME", "REASON")]
        rows += [
            (e.board, str(e.holder), _until(e.started), _until(e.ended), e.outcome, printable(e.reason or ""))
            for e in entries
        ]
        print(table(rows))
        print()
        print(_utilization(store))
        return 0
    holders, queues = store.holders(), store.queue_lengths()
    boards = list(lab.boards) if lab is not None else sorted({*holders, *queues})
    if args.json:
        listing = {}
        for board in boards:
            info = holders.get(board)
            listing[board] = {
                "holder": str(info.holder) if info else None,
                "since": info.since if info else None,
                "expires": info.expires if info else None,
                "queue": queues.get(board, 0),
            }
        print(json.dumps(listing, indent=1))
        return 0
    listed = [("BOARD", "HOLDER", "SINCE", "EXPIRES", "QUEUE")]
    for board in boards:
        info = holders.get(board)
        if info is not None:
            listed.append((board, str(info.holder), _since(info), _until(info.expires), str(queues.get(board, 0))))
        else:
            listed.append((board, "-", "-", "-", str(queues.get(board, 0))))
    print(table(listed))
    return 0


def _utilization(store: LeaseStore) -> str:
    """Per board: the share of the last 24 hours it was leased (from the history and live leases)."""
    now = time.time()
    start = now - 86400
    busy = store.busy_seconds(start)
    for board, info in store.holders().items():
        busy[board] = busy.get(board, 0.0) + now - max(info.since, start)
    lines = ["utilization, last 24 h:"]
    lines += [f"  {board}: {share / 86400:.1%}" for board, share in sorted(busy.items())]
    return "\n".join(lines)
