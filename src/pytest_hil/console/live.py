"""Where the console a session is writing can be followed from another process (`hil console --watch`).

Each console's session log gets a link in this user's live folder, `<board>.<resource>.log`, pointing
at the log being written now; a new session points it at its own log, and a session that ends removes
the link if it is still its own. Followers read the log, never the console: they take no lease and
cannot type into the board.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: The live folder, unless the environment names another (tests; several labs with one board name).
LIVE_DIR_ENV = "HIL_LIVE_DIR"


def live_dir() -> Path:
    """This user's folder of live console links (made on first use, readable by the user alone)."""
    configured = os.environ.get(LIVE_DIR_ENV)
    folder = Path(configured) if configured else Path(tempfile.gettempdir()) / f"pytest-hil-live-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def link_path(name: str) -> Path:
    """The link of console `name` (`board.resource`)."""
    return live_dir() / f"{name}.log"


def publish(name: str, log: Path) -> None:
    """Point console `name`'s link at `log`, the file now being written (atomically)."""
    with contextlib.suppress(OSError):  # following is a convenience: never a reason for a console to fail
        link = link_path(name)
        temporary = link.with_name(f".{link.name}.{os.getpid()}")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(log.absolute())
        os.replace(temporary, link)


def withdraw(name: str, log: Path) -> None:
    """Remove console `name`'s link if it still points at `log` (no later session took it over)."""
    with contextlib.suppress(OSError):
        link = link_path(name)
        if os.readlink(link) == str(log.absolute()):
            link.unlink()
