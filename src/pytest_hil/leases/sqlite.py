"""Leases in an SQLite file: correct across processes on one host; waiters wake on SQLite's
`data_version`, which changes when another connection commits, checked every few milliseconds
without taking a lock."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_hil.errors import LeaseError
from pytest_hil.leases.backend import Backend

#: Seconds between the first looks at data_version while waiting, and between later ones.
POLL = 0.003
POLL_MAX = 0.05


class SqliteBackend(Backend):
    serial = "INTEGER PRIMARY KEY AUTOINCREMENT"
    connection_errors = (sqlite3.DatabaseError,)  # cannot open, locked, damaged

    def __init__(self, path: Path) -> None:
        self.path = path
        self.local = threading.local()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            parent = next((folder for folder in path.parents if folder.exists()), None)
            why = f"{parent} is not a folder" if parent and not parent.is_dir() else error.strerror or str(error)
            raise LeaseError(
                f"lease store {self.describe()}: cannot create its folder ({why}); "
                "point HIL_LEASE_URL or --hil-lease-url elsewhere"
            ) from None

    def connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    def _watcher(self) -> sqlite3.Connection:
        """This thread's connection for reading data_version (it must not be the writer's)."""
        connection = getattr(self.local, "watcher", None)
        if connection is None:
            connection = self.local.watcher = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        return connection

    def begin(self, connection: Any, boards: Sequence[str] | None = None) -> tuple[Any, float]:
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        return cursor, time.time()

    def now(self, cursor: Any) -> float:
        return time.time()

    def mark(self) -> int:
        return int(self._watcher().execute("PRAGMA data_version").fetchone()[0])

    def wait(self, mark: Any, timeout: float) -> bool:
        """Look at data_version every POLL seconds at first, then less often while nothing changes
        (up to POLL_MAX): quick hand-offs, little CPU in long waits."""
        watcher = self._watcher()
        version = mark
        deadline = time.monotonic() + timeout
        pause = POLL
        while (remaining := deadline - time.monotonic()) > 0:
            time.sleep(min(pause, remaining))
            if watcher.execute("PRAGMA data_version").fetchone()[0] != version:
                return True
            pause = min(pause * 1.5, POLL_MAX)
        return False

    def execute(self, cursor: Any, statement: str, parameters: tuple[Any, ...] = ()) -> Any:
        return cursor.execute(statement, parameters)

    def execute_many(self, cursor: Any, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
        cursor.executemany(statement, rows)

    def describe(self) -> str:
        return f"sqlite://{self.path}"

    def busy(self, error: BaseException) -> bool:
        text = str(error)
        return "locked" in text or "busy" in text

    def problem(self, error: BaseException) -> str | None:
        text = str(error).strip()
        if "malformed" in text or "not a database" in text:
            return f"the file is damaged ({text}): move it away (a new store is made) or use another store"
        if "readonly" in text or "read-only" in text:
            return f"cannot write to it ({text}): check the permissions of the file and its folder"
        if "full" in text:
            return f"cannot write to it ({text}): free space on its file system"
        if "unable to open" in text:
            return f"cannot open it ({text}): check that its folder exists and is writable"
        if "disk I/O" in text:  # what a full file system looks like in WAL mode, too
            return f"cannot use it ({text}): its file system may be full or failing: free space or move the store"
        return None
