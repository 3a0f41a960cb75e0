"""What a user sees on a real terminal with pytest's default output capture: a subprocess in a
pseudo-terminal, as a person or a CI log sees it (an in-process run would hide what capture swallows)."""

from __future__ import annotations

import lzma
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_hil.leases import Holder, open_store
from tests.conftest import REPO


def run_in_terminal(args: list[str], cwd: Path, timeout: float = 180) -> str:
    """Run `python -m pytest ARGS` on a pseudo-terminal; everything it wrote there."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: pytest on the terminal
        os.chdir(cwd)
        os.environ["COLUMNS"] = "120"
        os.execv(sys.executable, [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args])
    output = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.waitpid(pid, 0)
    os.close(fd)
    return output.decode(errors="replace")


def test_the_flash_progress_bar_reaches_the_terminal_with_capture_on(tmp_path: Path) -> None:
    shutil.copytree(REPO / "conftest_examples", tmp_path / "examples")
    # progress shows after 2 s; this image flashes faster, so the test's own conftest shows it at once
    (tmp_path / "conftest.py").write_text("import pytest_hil.progress\npytest_hil.progress.DELAY = 0.0\n")
    firmware = tmp_path / "fw.img.xz"
    firmware.write_bytes(lzma.compress(os.urandom(24 * 2**20), preset=0))
    output = run_in_terminal(
        ["--hil-lab=examples/lab.yaml", "examples/flash_once", f"--firmware={firmware}", "--hil-board=sim-a"],
        tmp_path,
    )
    frames = [line for line in output.replace("\r", "\n").splitlines() if "flash sim-a storage: fw.img.xz [" in line]
    assert frames, output
    assert any("% " in frame and "MiB written" in frame for frame in frames)
    assert "passed" in output and "failed" not in output


def test_waiting_for_a_leased_board_is_said_on_the_terminal(tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").write_text(
        "version: 1\nboards:\n  b1:\n    resources:\n      console: {driver: sim-console}\n"
    )
    (tmp_path / "test_wait.py").write_text("def test_x(board):\n    pass\n")
    url = f"sqlite://{tmp_path}/leases.db"
    store = open_store(url)
    grant = store.acquire([["b1"]], Holder("alice", "desk-1", 4242))
    releaser = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import time; from pytest_hil.leases import open_store; time.sleep(3); open_store({url!r}).release({grant.token!r})",
        ]
    )
    try:
        output = run_in_terminal(["--hil-lab=lab.yaml", f"--hil-lease-url={url}", "test_wait.py"], tmp_path)
    finally:
        releaser.wait(30)
        store.close()
    assert "pytest-hil: waiting for board b1: held by alice@desk-1 pid 4242 since " in output
    assert "1 passed" in output


@pytest.mark.parametrize("capture", ["-p no:capture", "-s"])
def test_messages_work_without_the_capture_plugin(tmp_path: Path, capture: str) -> None:
    (tmp_path / "lab.yaml").write_text(
        "version: 1\nboards:\n  b1:\n    resources:\n      console: {driver: sim-console}\n"
    )
    (tmp_path / "test_x.py").write_text("def test_x(board):\n    pass\n")
    url = f"sqlite://{tmp_path}/damaged.db"
    Path(url.removeprefix("sqlite://")).write_bytes(b"SQLite format 3\x00" + os.urandom(2048))
    output = run_in_terminal([*capture.split(), "--hil-lab=lab.yaml", f"--hil-lease-url={url}"], tmp_path)
    assert output.count(f"pytest-hil: lease store {url}: the file is damaged") == 1
