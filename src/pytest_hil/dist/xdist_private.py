"""The one place `--hil-dist` reaches into pytest-xdist's internals, with the reason.

xdist gives a remote worker (an `ssh=` gateway with `chdir`) the run's path arguments rewritten
against its rsync roots (`xdist.workermanage.make_reltoroot`): with no `--rsyncdir`, every path
argument ended the run in `INTERNALERROR ValueError: arg tests not relative to an rsync root`. A lab
host's `remote.chdir` holds the same tree as the rootdir here (nothing is rsynced), so its workers
are given path arguments relative to the rootdir instead; `outside_rootdir` lets the controller refuse
the others first, in one line. There is no public hook between xdist's argument mapping and the
worker's start.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

#: The node-id separator of pytest's arguments (`path::test`).
NODE = "::"


def _path_of(argument: str, invoked_in: Path) -> Path | None:
    """The existing file or folder a command-line argument names, or None for options and node names."""
    if argument.startswith("-"):
        return None
    path = invoked_in / argument.split(NODE, 1)[0]
    try:
        return path.resolve() if path.exists() else None
    except OSError:
        return None


def outside_rootdir(arguments: Sequence[str], invoked_in: Path, rootdir: Path) -> list[str]:
    """The path arguments naming something outside `rootdir`."""
    root = rootdir.resolve()
    return [arg for arg in arguments if (path := _path_of(arg, invoked_in)) is not None and not path.is_relative_to(root)]


def give_lab_hosts_rootdir_paths(invoked_in: Path, rootdir: Path, extra: Sequence[str] = ()) -> None:
    """From now on, remote workers get each path argument relative to the rootdir (their `chdir`),
    and `extra` arguments after them."""
    import xdist.workermanage

    root = rootdir.resolve()

    def relative_to_rootdir(roots: Sequence[Path], args: list[str]) -> list[str]:
        result = []
        for argument in args:
            path = _path_of(argument, invoked_in)
            if path is None:
                result.append(argument)
                continue
            relative = path.relative_to(root).as_posix() if path != root else "."
            rest = argument.split(NODE, 1)[1:]
            result.append(NODE.join([relative, *rest]))
        return [*result, *extra]

    xdist.workermanage.make_reltoroot = relative_to_rootdir
