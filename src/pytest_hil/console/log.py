"""Console logs: every byte a board prints, per session and per test, with secrets masked."""

from __future__ import annotations

import contextlib
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from pytest_hil.console import live
from pytest_hil.secrets import MASK, MIN_LENGTH, masked_parts

RECENT = 64 * 1024


class Masker:
    """Replaces secret strings in a byte stream, also when a secret is split across chunks."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted(
            {secret.encode() for secret in secrets if len(secret) >= MIN_LENGTH}, key=len, reverse=True
        )
        self.carry = b""

    def feed(self, data: bytes) -> bytes:
        """The masked bytes that are safe to write now; a possible secret's beginning is held back."""
        if not self.secrets:
            return data
        text = self.carry + data
        for secret in self.secrets:
            text = text.replace(secret, MASK.encode())
        keep = self._pending_prefix(text)
        self.carry = text[len(text) - keep :] if keep else b""
        return text[: len(text) - keep] if keep else text

    def flush(self) -> bytes:
        rest, self.carry = self.carry, b""
        return rest

    def mask_text(self, text: str) -> str:
        return masked_parts(text, (secret.decode() for secret in self.secrets))

    def _pending_prefix(self, text: bytes) -> int:
        longest = 0
        for secret in self.secrets:
            for size in range(min(len(secret) - 1, len(text)), longest, -1):
                if text.endswith(secret[:size]):
                    longest = size
                    break
        return longest


class _LogFile:
    """One open log file, optionally stamping each line with seconds since it was opened. A file that
    cannot be written (a full disk) is reported once through `failed` and then left alone: logging
    never stops a console."""

    def __init__(
        self, path: Path, timestamps: bool, failed: Callable[[str, OSError], None], fresh: bool = False
    ) -> None:
        self.path = path
        self.failed = failed
        self.file: BinaryIO | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.file = open(path, "wb" if fresh else "ab", buffering=0)  # noqa: SIM115 - lives until close()
        except OSError as error:
            self._fail(error)
        self.timestamps = timestamps
        self.started = time.monotonic()
        self.at_line_start = True
        if timestamps and self.file is not None:  # the wall-clock time of 0.000000, to line logs up
            wall = time.time()
            opened = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall)) + f".{int(wall % 1 * 1e6):06d}Z"
            self.write(f"[hil] log opened {opened} (epoch {wall:.6f}): stamps are seconds since then\n".encode())

    def write(self, data: bytes) -> None:
        if self.file is None:
            return
        if self.timestamps:
            data = self._stamped(data)
        try:
            self.file.write(data)
        except OSError as error:
            self._fail(error)

    def _fail(self, error: OSError) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
        self.file = None
        self.failed(f"cannot write the console log {self.path}: {error.strerror or error}", error)

    def _stamped(self, data: bytes) -> bytes:
        out = bytearray()
        for line in data.splitlines(keepends=True):
            if self.at_line_start:
                out += f"[{time.monotonic() - self.started:10.6f}] ".encode()
            out += line
            self.at_line_start = line.endswith(b"\n")
        return bytes(out)

    def close(self) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
            self.file = None


class ConsoleLog:
    """The log of one console: the whole session in one file, and each test's share in its own."""

    def __init__(
        self,
        name: str,
        session_dir: Path | None,
        masker: Masker,
        timestamps: bool = False,
        failed: Callable[[str, OSError], None] = lambda problem, error: None,
        fresh: bool = False,
    ) -> None:
        self.name = name
        self.masker = masker
        self.timestamps = timestamps
        self.failed = failed
        self.lock = threading.Lock()
        self.session = _LogFile(session_dir / f"{name}.log", timestamps, failed, fresh) if session_dir else None
        if self.session is not None and self.session.file is not None:
            live.publish(name, self.session.path)  # `hil console --watch` follows it
        self.test: _LogFile | None = None
        #: Where the running test's log goes; the file is made with its first byte (most tests of a
        #: quiet console then cost no folder and no file: filesystem metadata is the plugin's main cost).
        self.test_target: Path | None = None
        self.recent = bytearray()  # the last RECENT bytes, for error messages

    def write(self, data: bytes) -> None:
        """Log bytes the board printed (called by the console's reader as they arrive)."""
        with self.lock:
            self._write(self.masker.feed(data))

    def note(self, text: str) -> None:
        """Log a line of our own, such as `[hil] power off`, on a line of its own."""
        with self.lock:
            self._write(self.masker.flush() + b"\n" + self.masker.mask_text(text).encode() + b"\n")

    def _write(self, data: bytes) -> None:
        if not data:
            return
        self.recent += data
        if len(self.recent) > RECENT:
            del self.recent[: len(self.recent) - RECENT]
        if self.session is not None:
            self.session.write(data)
        if self.test is None and self.test_target is not None:
            self.test = _LogFile(self.test_target, self.timestamps, self.failed)
        if self.test is not None:
            self.test.write(data)

    def start_test(self, path: Path) -> None:
        with self.lock:
            self._write(self.masker.flush())
            if self.test is not None:
                self.test.close()
            self.test, self.test_target = None, path

    def end_test(self) -> Path | None:
        """End the test's log; its path, or None when the console said nothing during the test."""
        with self.lock:
            self._write(self.masker.flush())
            test, self.test, self.test_target = self.test, None, None
        if test is None:
            return None
        test.close()
        return test.path if test.path.exists() else None

    @property
    def test_path(self) -> Path | None:
        test = self.test
        return test.path if test else None

    def tail(self, lines: int = 50) -> str:
        """The last lines of the running test's log."""
        path = self.test_path
        if path is None:
            return ""
        with self.lock:
            self._write(self.masker.flush())
        try:
            return file_tail(path, lines)
        except OSError:  # it could not be written: what the console said recently instead
            return self.recent_lines(lines)

    def recent_lines(self, lines: int = 50) -> str:
        """The last lines the console printed, whether or not a test runs (runs of blank lines, such
        as a shell's nudges, as one)."""
        with self.lock:
            text = bytes(self.recent).decode(errors="replace")
        text = re.sub(r"\n(?:[ \t]*\n)+", "\n\n", text.replace("\r\n", "\n").replace("\r", "\n"))
        return "\n".join(text.split("\n")[-lines:]).strip("\n")

    def close(self) -> None:
        self.end_test()
        with self.lock:
            self._write(self.masker.flush())
            if self.session is not None:
                self.session.close()
                live.withdraw(self.name, self.session.path)
                self.session = None


class BoardLogs:
    """The console logs of one board; drivers ask it for theirs, the plugin starts and ends tests."""

    def __init__(
        self,
        board: str,
        log_dir: Path | None = None,
        secrets: Iterable[str] = (),
        timestamps: bool = False,
        fresh: bool = True,
    ) -> None:
        self.board = board
        self.log_dir = log_dir
        self.secrets = tuple(secrets)
        self.timestamps = timestamps
        #: Whether session logs start empty (a run starts its own files) or continue a file.
        self.fresh = fresh
        #: Log files that could not be written, each reported once (taken by `take_problems`).
        self.problems: list[str] = []
        self._failures: set[int | None] = set()
        #: Power changes and resets so far (see `power_event`).
        self.power_events = 0
        self.logs: dict[str, ConsoleLog] = {}
        #: Logs of other traffic (CAN frames): per session and test like consoles, without notes.
        self.traces: dict[str, ConsoleLog] = {}
        self.test_dir: Path | None = None
        #: Notes of the running test (or of the time before the first), for consoles opened later.
        self.notes: list[str] = []
        #: Files drivers made for the running test (mismatching screenshots): attached to its report.
        self.attachments: list[Path] = []

    def console(self, resource: str) -> ConsoleLog:
        """The log of console `resource` (created on first request, joining a running test)."""
        log = self.logs.get(resource)
        if log is None:
            session_dir = self.log_dir / "session" if self.log_dir else None
            log = ConsoleLog(
                f"{self.board}.{resource}", session_dir, Masker(self.secrets), self.timestamps, self._failed, self.fresh
            )
            self.logs[resource] = log
            if self.test_dir is not None:
                log.start_test(self.test_dir / f"{log.name}.log")
            for text in self.notes:
                log.note(text)
        return log

    def trace(self, resource: str, kind: str) -> ConsoleLog:
        """The log of `resource`'s traffic in a format of its own (`kind`, e.g. candump): kept per session
        and per test like a console log, but without notes and unmasked."""
        name = f"{self.board}.{resource}.{kind}"
        log = self.traces.get(name)
        if log is None:
            session_dir = self.log_dir / "session" if self.log_dir else None
            log = self.traces[name] = ConsoleLog(name, session_dir, Masker(()), False, self._failed, self.fresh)
            if self.test_dir is not None:
                log.start_test(self.test_dir / f"{name}.log")
        return log

    def _failed(self, problem: str, error: OSError) -> None:
        """Each kind of failure is reported once (a full disk fails every file after the first)."""
        if error.errno not in self._failures:
            self._failures.add(error.errno)
            self.problems.append(f"{problem} (the console goes on; further logs with this error are dropped)")

    def take_problems(self) -> list[str]:
        """The log files that failed since the last call (a full disk), one line each."""
        problems, self.problems = self.problems, []
        return problems

    def artifact_dir(self) -> Path:
        """Where a driver puts files for the running test: its log folder; outside a test, `artifacts/`
        in the log folder, else a new temporary folder (never the current directory)."""
        if self.test_dir is not None:
            folder = self.test_dir
        elif self.log_dir is not None:
            folder = self.log_dir / "artifacts"
        else:
            folder = Path(tempfile.mkdtemp(prefix=f"hil-artifacts-{self.board}-"))
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def attach(self, path: Path) -> None:
        """Attach a file to the running test's report (junit property, pytest-html extra)."""
        self.attachments.append(path)

    def power_event(self, text: str) -> None:
        """Note a power change or reset (`[hil] power off (...)`): a logged-in shell on this board
        knows from `power_events` that it must log in again."""
        self.power_events += 1
        self.note(text)

    def note(self, text: str) -> None:
        """A line for every console log of the board (power changes, flashing), also for consoles
        opened later in the same test: a flash before the console is opened is not lost."""
        self.notes.append(text)
        for log in self.logs.values():
            log.note(text)

    def start_test(self, folder: Path) -> None:
        self.test_dir = folder
        self.notes = []
        self.attachments = []
        for log in [*self.logs.values(), *self.traces.values()]:
            log.start_test(folder / f"{log.name}.log")

    def end_test(self) -> list[Path]:
        self.test_dir = None
        self.notes = []
        logs = [*self.logs.values(), *self.traces.values()]
        return [path for log in logs if (path := log.end_test()) is not None]

    def close(self) -> None:
        """Close every log; consoles opened later (the board leased again) continue the same files."""
        for log in [*self.logs.values(), *self.traces.values()]:
            log.close()
        self.logs.clear()
        self.traces.clear()
        self.fresh = False


def file_tail(path: Path, lines: int = 50) -> str:
    """The last `lines` of the log file at `path` (read from its last 256 KiB), with `\n` line ends."""
    text = path.read_bytes()[-256 * 1024 :].decode(errors="replace")
    return "\n".join(text.replace("\r\n", "\n").split("\n")[-lines:])
