"""Running a flashing tool's command line: a timeout, its output in the board's console logs (a line
at a time, secrets masked), and a failure as one line naming the tool and what it said last."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Sequence
from typing import IO

from pytest_hil.errors import DriverError, DriverUnavailable
from pytest_hil.interfaces import DriverContext
from pytest_hil.secrets import mask

ERROR = re.compile(r"\b(error|fatal)\b", re.IGNORECASE)


def find_tool(context: DriverContext, binary: str, install: str) -> str:
    """The tool's path; DriverUnavailable (tests skip, naming it) when it is not installed."""
    found = shutil.which(binary)
    if found is None:
        raise DriverUnavailable(f"{context}: {binary} is not installed ({install})")
    return found


def run_tool(context: DriverContext, argv: Sequence[str], timeout: float, what: str) -> str:
    """Run `argv`; its output lines become `[tool] ...` notes as they come; returns stdout. A failure
    (exit status, timeout) is a DriverError quoting the tool's last error line."""
    name = argv[0].rsplit("/", 1)[-1]
    context.logs.note(f"[hil] {what}: {mask(' '.join(argv))}")
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    stdout: list[str] = []
    stderr: list[str] = []
    readers = [
        threading.Thread(target=_follow, args=(context, name, process.stdout, stdout), daemon=True),
        threading.Thread(target=_follow, args=(context, name, process.stderr, stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        status = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise DriverError(f"{context}: {what}: {name} did not finish within {timeout:g} s") from None
    finally:
        for reader in readers:
            reader.join(timeout=5)
    if status != 0:
        raise DriverError(f"{context}: {what}: {name} exited with {status}: {last_error(stderr + stdout)}")
    return "".join(stdout)


def last_error(lines: Sequence[str]) -> str:
    """The line that says what went wrong: the first with an `Error:` in it (from there on: OpenOCD
    puts where in its scripts first; later errors tend to be consequences), else the last line."""
    text = [line.strip() for line in lines if line.strip()]
    errors = [line[found.start() :] for line in text if (found := ERROR.search(line))]
    return mask(errors[0] if errors else (text or ["(no output)"])[-1])


def _follow(context: DriverContext, name: str, stream: IO[str] | None, into: list[str]) -> None:
    if stream is None:
        return
    for line in stream:
        into.append(line)
        if line.strip():
            context.logs.note(f"[{name}] {mask(line.rstrip())}")
