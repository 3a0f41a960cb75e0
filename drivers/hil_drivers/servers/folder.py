"""What the file servers share: a folder to serve (the lab file's, or one of the session's own, removed
at the end) and `put`, which places a file in it without ever landing outside."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext


class ServedFolder:
    """The folder a server serves from; files placed with `place`."""

    def __init__(self, configured: Path | None, context: DriverContext, kind: str) -> None:
        self.configured = configured
        self.context = context
        self.kind = kind
        self._made: str | None = None
        self._sent: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        if self.configured is not None:
            if not self.configured.is_dir():
                what = "is not a folder" if self.configured.exists() else "does not exist"
                raise DriverError(f"{self.context}: root {self.configured} {what}: make it, or leave root out")
            return self.configured
        if self._made is None:
            self._made = tempfile.mkdtemp(prefix=f"hil-{self.kind}-{self.context.board}-")
        return Path(self._made)

    def place(self, source: Path, name: str) -> str:
        """Put `source` in the folder as `name` (a hard link where the file system allows, else a copy);
        the name, relative to the folder."""
        if not source.is_file():
            raise DriverError(f"{self.context}: put: {source} is not a file")
        name = name.lstrip("/")
        target = (self.path / name).resolve()
        if not target.is_relative_to(self.path.resolve()):
            raise DriverError(f"{self.context}: put: {name!r} would land outside {self.path}")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target != source.resolve():
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            try:
                os.link(source, target)  # no copy of a large image
            except OSError:
                shutil.copyfile(source, target)
        return name

    def count(self, name: str, sent: int) -> None:
        """Record `sent` more bytes of `name` sent to a board."""
        with self._lock:
            key = name.lstrip("/")
            self._sent[key] = self._sent.get(key, 0) + sent

    def sent(self, name: str) -> int:
        """Bytes of `name` sent so far."""
        with self._lock:
            return self._sent.get(name.lstrip("/"), 0)

    def remove(self) -> None:
        """Remove the session's own folder (a configured one stays)."""
        if self._made is not None:
            shutil.rmtree(self._made, ignore_errors=True)


class FolderServing:
    """What both file servers answer from their folder: `root` and `sent(name)`."""

    folder: ServedFolder

    @property
    def root(self) -> Path:
        return self.folder.path

    def sent(self, name: str) -> int:
        """Bytes of `name` sent to boards so far."""
        return self.folder.sent(name)
