"""hil shell: a board leased for a command (or an interactive shell), released when it ends, also on
SIGTERM and SIGHUP; pytest run inside uses that lease."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pexpect
import pytest

from pytest_hil.leases import Holder, LeaseStore, open_store
from tests.conftest import SIM_LAB

HIL = [sys.executable, "-m", "pytest_hil.cli.main"]


@pytest.fixture
def lab(write_lab: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HIL_LEASE_URL", f"sqlite://{tmp_path}/leases.db")
    monkeypatch.delenv("HIL_BOARD", raising=False)
    monkeypatch.delenv("HIL_LEASE_TOKEN", raising=False)
    return write_lab(SIM_LAB)


@pytest.fixture
def store(tmp_path: Path) -> LeaseStore:
    return open_store(f"sqlite://{tmp_path}/leases.db", lab="test-lab")


def hil_shell(lab: Path, *args: str, **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([*HIL, "--lab", str(lab), "shell", *args], text=True, **popen)


def wait_for_holder(store: LeaseStore, board: str) -> None:
    deadline = time.monotonic() + 20
    while board not in store.holders():
        assert time.monotonic() < deadline, f"{board} was never leased"
        time.sleep(0.05)


def test_the_command_runs_with_the_board_and_its_status_is_hils(lab: Path, store: LeaseStore, tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    shell = hil_shell(lab, "--select", "arch=riscv64", "--", "sh", "-c", f'echo "$HIL_BOARD $HIL_LAB" > {seen}; exit 7')
    assert shell.wait(timeout=60) == 7
    assert seen.read_text() == f"sim-b {lab}\n"
    assert store.holders() == {}
    (entry,) = store.history()
    assert (entry.board, entry.outcome, entry.holder.pid) == ("sim-b", "released", shell.pid)


def test_pytest_inside_uses_the_shells_lease(lab: Path, store: LeaseStore, tmp_path: Path) -> None:
    (tmp_path / "test_inside.py").write_text(
        "import os\n\ndef test_board(board, power):\n    power.on()\n    assert board.name == os.environ['HIL_BOARD']\n"
    )
    shell = hil_shell(
        lab, "sim-a", "--", sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hil-lease-timeout=5",
        str(tmp_path / "test_inside.py"), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    output, _ = shell.communicate(timeout=120)
    assert shell.returncode == 0, output
    assert "1 passed" in output and "using sim-a under the lease of the hil shell" in output
    assert [(entry.board, entry.holder.pid) for entry in store.history()] == [("sim-a", shell.pid)]  # one lease


def test_a_busy_board_is_waited_for_naming_its_holder(lab: Path, store: LeaseStore) -> None:
    store.acquire([["sim-a"]], Holder("bob", "desk-2", 202))
    shell = hil_shell(lab, "sim-a", "--wait", "0.5", "--", "true", stderr=subprocess.PIPE)
    _, err = shell.communicate(timeout=60)
    assert shell.returncode == 1
    assert "hil: waiting for sim-a: held by bob@desk-2 pid 202 since " in err
    assert "waited 0.5 s for sim-a" in err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_ends_the_command_and_releases_the_board(lab: Path, store: LeaseStore, signum: int) -> None:
    shell = hil_shell(lab, "sim-a", "--", "sleep", "60")
    wait_for_holder(store, "sim-a")
    started = time.monotonic()
    shell.send_signal(signum)
    assert shell.wait(timeout=30) == 128 + signum
    assert time.monotonic() - started < 10
    assert store.holders() == {} and store.history()[0].outcome == "released"


def test_a_forced_release_stops_the_command(lab: Path, store: LeaseStore) -> None:
    shell = hil_shell(lab, "sim-a", "--", "sleep", "60", stderr=subprocess.PIPE)
    wait_for_holder(store, "sim-a")
    store.force_release("sim-a", "needed for a demo", Holder("eve", "ops", 1))
    _, err = shell.communicate(timeout=30)
    assert shell.returncode == 1
    assert (
        "hil shell: lease on board sim-a lost: sim-a: released by force (needed for a demo (by eve@ops pid 1)): stopping the command"
        in err
    )


def test_for_limits_how_long_the_command_runs(lab: Path, store: LeaseStore) -> None:
    shell = hil_shell(lab, "sim-a", "--for", "1s", "--", "sleep", "60", stderr=subprocess.PIPE)
    _, err = shell.communicate(timeout=30)
    assert shell.returncode == 124 and "hil shell: --for 1 s is over: stopping the command" in err
    assert store.holders() == {}


def test_without_a_command_an_interactive_shell_names_the_board(lab: Path, store: LeaseStore) -> None:
    env = {**os.environ, "SHELL": "/bin/sh"}
    child = pexpect.spawn(
        HIL[0], [*HIL[1:], "--lab", str(lab), "shell", "sim-b"], env=env, encoding="utf-8", timeout=30
    )
    child.expect_exact("hil shell: sim-b is yours until this shell exits")
    child.expect_exact("[hil sim-b] $ ")
    assert list(store.holders()) == ["sim-b"]
    child.sendline("echo board is $HIL_BOARD; exit 3")
    child.expect_exact("board is sim-b")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3 and store.holders() == {}


def test_mistakes_are_one_line(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_hil.cli.main import main

    assert main(["--lab", str(lab), "shell", "--", "true"]) == 2
    assert capsys.readouterr().err == "hil shell: name a BOARD or give --select SELECTOR\n"
    assert main(["--lab", str(lab), "shell", "sim-z", "--", "true"]) == 1
    assert "hil: no board 'sim-z'" in capsys.readouterr().err
    assert main(["--lab", str(lab), "shell", "--select", "arch=", "--", "true"]) == 2
    assert "hil shell: --select: selector 'arch='" in capsys.readouterr().err
