"""Leases in an SQLite file: correct across processes on one host; waiters wake on SQLite's
`data_version`, which changes when another connection commits, checked every few milliseconds
without taking a lock."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from pytest_hil.leases.backend import Backend

#: Seconds between two looks at data_version while waiting.
POLL = 0.003


class SqliteBackend(Backend):
    serial = "INTEGER PRIMARY KEY AUTOINCREMENT"
    connection_errors = (sqlite3.OperationalError,)  # cannot open, or locked for longer than the timeout

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.local = threading.local()

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

    def begin(self, connection: Any) -> Any:
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        return cursor

    def now(self, cursor: Any) -> float:
        return time.time()

    def mark(self) -> int:
        return int(self._watcher().execute("PRAGMA data_version").fetchone()[0])

    def wait(self, mark: Any, timeout: float) -> bool:
        watcher = self._watcher()
        version = mark
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(POLL)
            if watcher.execute("PRAGMA data_version").fetchone()[0] != version:
                return True
        return False

    def execute(self, cursor: Any, statement: str, parameters: tuple[Any, ...] = ()) -> Any:
        return cursor.execute(statement, parameters)

    def describe(self) -> str:
        return f"sqlite://{self.path}"
