"""Names from outside become paths that stay in their folder: test ids as folder names, file names a
lab host sends back."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]]+")
#: Longest readable part of a test's folder name (the hash follows it).
_READABLE = 150


def folder_name_of(nodeid: str) -> str:
    """A file-system-safe folder name for a test id, distinct for distinct ids (`test_x[a/b]` and
    `test_x[a b]` too): the id made readable, then a short hash of the id itself."""
    readable = _UNSAFE.sub("_", nodeid).strip("_.")[:_READABLE]
    digest = hashlib.sha256(nodeid.encode()).hexdigest()[:10]
    return f"{readable}-{digest}"


def contained(folder: Path, name: str) -> Path | None:
    """`folder / name` when `name` is a relative path that stays inside `folder`; None otherwise
    (absolute, `..`, empty, or a NUL)."""
    if not name or "\0" in name or "\\" in name:
        return None
    relative = PurePosixPath(name)
    if relative.is_absolute() or any(part in ("..", "") for part in relative.parts) or not relative.parts:
        return None
    path = folder / relative
    resolved_folder = folder.resolve()
    resolved = path.resolve()
    if resolved != resolved_folder and resolved_folder not in resolved.parents:
        return None  # through a symbolic link
    return path
