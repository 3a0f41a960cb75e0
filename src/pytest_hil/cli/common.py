"""What every `hil` verb shares: where the lab file is, loading it or reporting why not, its lease
store, and the one table printer (tables that fit the terminal: the widest columns are shortened,
ending in "…", until a row fits)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence

from pytest_hil.errors import LabError
from pytest_hil.lab import Lab, load_lab
from pytest_hil.lab.model import BoardSpec
from pytest_hil.leases import LeaseStore, open_store
from pytest_hil.leases import store_url as resolve_store_url

GAP = "  "
#: No column is shortened below this many characters.
MIN_WIDTH = 8


def table(rows: Sequence[Sequence[str]], width: int | None = None) -> str:
    """`rows` (the first is the header) as aligned columns no wider than `width` (default: the
    terminal's, as COLUMNS or the terminal says; unlimited into a pipe or file, for grep and friends)."""
    if width is None and ("COLUMNS" in os.environ or sys.stdout.isatty()):
        width = shutil.get_terminal_size((80, 24)).columns
    if width is None:
        width = sys.maxsize
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    while sum(widths) + len(GAP) * (len(widths) - 1) > width:
        widest = max(range(len(widths)), key=lambda column: widths[column])
        if widths[widest] <= MIN_WIDTH:
            break  # as narrow as it gets: the terminal wraps the rest
        widths[widest] -= 1
    lines = []
    for row in rows:
        cells = [_fit(cell, size).ljust(size) for cell, size in zip(row, widths, strict=True)]
        lines.append(GAP.join(cells).rstrip())
    return "\n".join(lines)


def _fit(cell: str, size: int) -> str:
    return cell if len(cell) <= size else cell[: size - 1] + "…"


def lab_path(args: argparse.Namespace) -> str:
    path = getattr(args, "lab_file", None) or args.lab or os.environ.get("HIL_LAB")
    if not path:
        print("hil: no lab file: give LAB, --lab or set HIL_LAB", file=sys.stderr)
        raise SystemExit(2)
    return str(path)


def load_or_report(path: str) -> Lab | None:
    """The lab at `path`, or None after printing its error lines to stderr."""
    try:
        return load_lab(path)
    except LabError as error:
        for issue in error.issues:
            print(issue, file=sys.stderr)
        return None


def board_or_report(lab: Lab, name: str) -> BoardSpec | None:
    """The lab's board `name`, or None after saying which boards there are."""
    spec = lab.boards.get(name)
    if spec is None:
        print(f"hil: no board {name!r} in {lab.path} (boards: {', '.join(lab.boards)})", file=sys.stderr)
    return spec


def store_url(lab: Lab) -> str:
    """HIL_LEASE_URL, else the lab file's leases.url, else this user's store."""
    return resolve_store_url(os.environ.get("HIL_LEASE_URL"), lab.leases.url)


def open_lab_store(lab: Lab) -> LeaseStore:
    return open_store(store_url(lab), lab.leases.ttl, lab.name)
