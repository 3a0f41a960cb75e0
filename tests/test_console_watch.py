"""hil console --watch: follow a console a session is writing, read-only, without a lease."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hil.console import live
from pytest_hil.leases import open_store
from tests.test_cli_boards import SIM_LAB

HIL = [sys.executable, "-m", "pytest_hil.cli.main"]
TICKS = "for i in 1 2 3 4 5 6; do echo tick $i; sleep 0.4; done"


def read_until(stream: object, text: str, timeout: float = 30) -> str:
    import select

    seen = ""
    deadline = time.monotonic() + timeout
    fd = stream.fileno()  # type: ignore[attr-defined]
    while text not in seen:
        assert time.monotonic() < deadline, f"{text!r} not seen in {seen!r}"
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            chunk = os.read(fd, 4096).decode(errors="replace")
            assert chunk, f"ended before {text!r}: {seen!r}"
            seen += chunk
    return seen


def test_a_follower_sees_what_the_holder_logs_takes_no_lease_and_types_nothing(
    write_lab: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIL_LEASE_URL", f"sqlite://{tmp_path}/leases.db")
    lab = write_lab(SIM_LAB)
    holder = subprocess.Popen([*HIL, "--lab", str(lab), "run", "--log-dir", str(tmp_path / "logs"), "sim-a", "--", TICKS],
                              stdout=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 30
    while not live.link_path("sim-a.console").exists():
        assert time.monotonic() < deadline, "the holder's console log was never published"
        time.sleep(0.05)
    watcher = subprocess.Popen(
        [*HIL, "--lab", str(lab), "console", "--watch", "sim-a"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert watcher.stdin is not None
    watcher.stdin.write(b"reboot\n")  # a follower's keys go nowhere
    watcher.stdin.flush()
    said = read_until(watcher.stderr, "Ctrl-C ends")
    assert "hil: watching sim-a.console read-only (held by " in said and f" pid {holder.pid} since " in said
    seen = read_until(watcher.stdout, "tick 6")
    assert "tick 1" in seen or "tick 2" in seen
    assert holder.wait(timeout=60) == 0
    watcher.send_signal(signal.SIGINT)
    assert watcher.wait(timeout=10) == 130
    with open_store(f"sqlite://{tmp_path}/leases.db") as store:
        assert [(entry.board, entry.holder.pid) for entry in store.history()] == [("sim-a", holder.pid)]
    log = (tmp_path / "logs" / "session" / "sim-a.console.log").read_text()
    assert "reboot" not in log
    assert not live.link_path("sim-a.console").exists()  # withdrawn when the holder's session ended


def test_a_console_nobody_writes_is_waited_for_and_mistakes_are_one_line(
    write_lab: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_hil.cli.main import main

    monkeypatch.setenv("HIL_LEASE_URL", f"sqlite://{tmp_path}/leases.db")
    lab = write_lab(SIM_LAB)
    assert main(["--lab", str(lab), "console", "--watch", "sim-z"]) == 1
    assert "hil: no board 'sim-z'" in capsys.readouterr().err
    assert main(["--lab", str(lab), "console", "--watch", "sim-a", "nope"]) == 1
    assert capsys.readouterr().err == "hil: board sim-a has no console 'nope': name one\n"
