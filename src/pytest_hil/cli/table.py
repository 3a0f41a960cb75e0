"""Tables that fit the terminal: the widest columns are shortened (ending in "…") until a row fits."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence

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
