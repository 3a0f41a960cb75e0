"""`hil check` and `hil boards`: the lab file as the tool reads it."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from pytest_hil.cli.common import lab_path, load_or_report, open_lab_store, table
from pytest_hil.errors import HilError
from pytest_hil.lab import Lab
from pytest_hil.lab_status import BoardStatus, board_statuses
from pytest_hil.secrets import shown
from pytest_hil.text import printable


def add_parsers(verbs: Any) -> None:
    check = verbs.add_parser("check", help="validate a lab file; exit 1 with FILE:LINE errors")
    check.add_argument("lab_file", nargs="?", metavar="LAB")
    check.set_defaults(run=run_check)
    boards = verbs.add_parser("boards", help="boards, labels and resources")
    boards.add_argument("lab_file", nargs="?", metavar="LAB")
    boards.add_argument("-v", "--verbose", action="store_true", help="also show each resource's options")
    boards.add_argument("--json", action="store_true", help="JSON for scripts")
    boards.set_defaults(run=run_boards)


def run_check(args: argparse.Namespace) -> int:
    path = lab_path(args)
    lab = load_or_report(path)
    if lab is None:
        return 1
    for warning in lab.warnings:
        print(warning, file=sys.stderr)
    resources = sum(len(board.resources) for board in lab.boards.values())
    print(f"{path}: OK ({len(lab.boards)} boards, {resources} resources)")
    return 0


def run_boards(args: argparse.Namespace) -> int:
    lab = load_or_report(lab_path(args))
    if lab is None:
        return 1
    try:
        with open_lab_store(lab) as store:
            statuses = {status.name: status for status in board_statuses(lab, store)}
    except HilError as error:
        print(f"hil: leases unknown: {error}", file=sys.stderr)
        statuses = {}
    held = {name: _held_by(status) for name, status in statuses.items() if status.state != "free"}
    queues = {name: len(status.waiting) for name, status in statuses.items()}
    if args.json:
        listing = {
            name: {
                "labels": {key: shown(value) for key, value in spec.labels.items()},
                "resources": {resource.name: resource.kind for resource in spec.resources.values()},
                "host": spec.host,
                **(statuses[name].to_json() if name in statuses else {}),
                "held_by": held.get(name),
                "queue": queues.get(name, 0),
            }
            for name, spec in lab.boards.items()
        }
        print(json.dumps(listing, indent=1))
        return 0
    print(format_boards(lab, verbose=args.verbose, held=held, queues=queues))
    return 0


def _held_by(status: BoardStatus) -> str:
    """Who holds the board and since when, or why it is broken (its last holder's reason)."""
    if status.lease is not None:
        return f"{status.lease.holder} since {time.strftime('%H:%M', time.localtime(status.lease.since))}"
    assert status.last is not None  # broken: its last lease ended so
    when = time.strftime("%H:%M", time.localtime(status.last.ended))
    return f"- (broken at {when} for {status.last.holder.user}: {printable(_short(status.broken_reason or ''))})"


def _short(text: str, width: int = 70) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= width else line[: width - 3] + "..."


def format_boards(
    lab: Lab, verbose: bool = False, held: dict[str, str] | None = None, queues: dict[str, int] | None = None
) -> str:
    """The boards as a table with who holds each (and how many wait); secrets are masked."""
    held, queues = held or {}, queues or {}
    rows = [("BOARD", "LABELS", "RESOURCES", "HOST", "HELD BY", "QUEUE")]
    for board in lab.boards.values():
        labels = " ".join(f"{key}={shown(value)}" for key, value in board.labels.items()) or "-"
        resources = ", ".join(f"{spec.name} ({spec.kind})" for spec in board.resources.values())
        queue = str(queues.get(board.name, 0))
        rows.append((board.name, labels, resources, board.host or "-", held.get(board.name, "-"), queue))
    lines = table(rows).split("\n")
    if verbose:
        for board in lab.boards.values():
            lines.append("")
            lines.append(f"{board.name}:")
            for spec in board.resources.values():
                options = ", ".join(f"{key}={value}" for key, value in spec.shown_options().items())
                lines.append(f"  {spec.name}: {spec.kind}" + (f" ({options})" if options else ""))
    return "\n".join(line.rstrip() for line in lines)
