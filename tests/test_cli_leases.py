"""hil lease / release / leases, and board commands that honour other people's leases."""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hil.cli.main import main
from pytest_hil.errors import LeaseTimeout
from pytest_hil.leases import Holder, LeaseStore, open_store
from tests.conftest import SIM_LAB

BOB = Holder("bob", "desk-2", 202)


@pytest.fixture
def lab(write_lab: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HIL_LEASE_URL", f"sqlite://{tmp_path}/lab-leases.db")
    return str(write_lab(SIM_LAB))


@pytest.fixture
def store(tmp_path: Path) -> LeaseStore:
    return open_store(f"sqlite://{tmp_path}/lab-leases.db", lab="test-lab")


def test_a_lease_outlives_the_command_and_lets_its_owner_use_the_board(
    lab: str, store: LeaseStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--lab", lab, "lease", "sim-a", "--for", "10m"]) == 0
    assert capsys.readouterr().out.startswith("leased sim-a until ")
    with pytest.raises(LeaseTimeout):
        store.acquire([["sim-a"]], BOB, timeout=0)  # the command has exited; the lease has not
    assert main(["--lab", lab, "power", "sim-a", "status"]) == 0  # the owner's own commands may use it
    assert capsys.readouterr().out == "sim-a: off\n"
    assert main(["--lab", lab, "release"]) == 0
    assert capsys.readouterr().out == "released sim-a\n"
    assert store.holders() == {}


def test_board_commands_refuse_a_board_someone_else_holds(
    lab: str, store: LeaseStore, capsys: pytest.CaptureFixture[str]
) -> None:
    store.acquire([["sim-a"]], BOB)
    assert main(["--lab", lab, "power", "sim-a", "on"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hil: board sim-a is leased by bob@desk-2 pid 202 since ")
    assert "hil release --force sim-a --reason ..." in err
    assert main(["--lab", lab, "power", "sim-b", "status"]) == 0  # a free board is leased for the command only
    assert list(store.holders()) == ["sim-a"]
    assert [entry.board for entry in store.history()] == ["sim-b"]


def test_lease_by_selector_takes_a_free_match_and_waits_name_the_holder(
    lab: str, store: LeaseStore, capsys: pytest.CaptureFixture[str]
) -> None:
    store.acquire([["sim-a"]], BOB)
    assert main(["--lab", lab, "lease", "--select", "family=simboard", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["board"] == "sim-b"
    assert main(["--lab", lab, "lease", "sim-a", "--wait", "0.3"]) == 1
    err = capsys.readouterr().err
    assert "hil: waiting for sim-a: held by bob@desk-2 pid 202 since " in err
    assert "hil: waited 0.3 s for sim-a; held: sim-a by bob@desk-2 pid 202" in err


def test_force_release_needs_a_reason_and_is_recorded(
    lab: str, store: LeaseStore, capsys: pytest.CaptureFixture[str]
) -> None:
    store.acquire([["sim-a"]], BOB)
    assert main(["--lab", lab, "release", "--force", "sim-a"]) == 2
    assert main(["--lab", lab, "release", "sim-a"]) == 1
    assert "you hold no lease on sim-a (it is held by bob@desk-2 pid 202)" in capsys.readouterr().err
    assert main(["--lab", lab, "release", "--force", "sim-a", "--reason", "stuck since Friday"]) == 0
    assert "released sim-a (was held by bob@desk-2 pid 202)" in capsys.readouterr().out
    (entry,) = store.history()
    assert entry.outcome == "forced" and entry.reason is not None and entry.reason.startswith("stuck since Friday (by ")


def test_leases_lists_holders_history_and_utilization(
    lab: str, store: LeaseStore, capsys: pytest.CaptureFixture[str]
) -> None:
    grant = store.acquire([["sim-a"]], BOB)
    assert main(["--lab", lab, "leases"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["BOARD", "HOLDER", "SINCE", "EXPIRES", "QUEUE"]
    assert lines[1].startswith("sim-a  bob@desk-2 pid 202  ") and lines[2].split() == ["sim-b", "-", "-", "-", "0"]
    assert main(["--lab", lab, "leases", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sim-a"]["holder"] == "bob@desk-2 pid 202"
    assert main(["--lab", lab, "boards"]) == 0
    assert "bob@desk-2 pid 202 since " in capsys.readouterr().out
    store.release(grant.token)
    assert main(["--lab", lab, "leases", "--history"]) == 0
    out = capsys.readouterr().out
    assert "sim-a  bob@desk-2 pid 202" in out and " released" in out and "utilization, last 24 h:\n  sim-a: " in out


def test_leases_init_creates_the_schema_and_boards_has_json(
    lab: str, store: LeaseStore, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["--lab", lab, "leases", "--init"]) == 0
    assert capsys.readouterr().out == f"lease store sqlite://{tmp_path}/lab-leases.db: schema version 2\n"
    store.acquire([["sim-b"]], BOB)
    assert main(["--lab", lab, "boards", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["sim-b"]["held_by"].startswith("bob@desk-2 pid 202 since ") and listing["sim-a"]["held_by"] is None
    assert listing["sim-b"]["resources"] == {"power": "sim-power", "console": "sim-console", "pmic": "sim-console"}


def test_boards_shows_a_board_that_a_session_released_as_broken(
    lab: str, store: LeaseStore, capsys: pytest.CaptureFixture[str]
) -> None:
    grant = store.acquire([["sim-a"]], BOB)
    store.release(grant.token, "broken", "board sim-a, resource console (shell): no shell prompt\nlast lines...")
    assert main(["--lab", lab, "boards"]) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("sim-a")]
    assert row.endswith("for bob: board sim-a, resource console (shell): no shell prompt)  0")
    assert "- (broken at " in row


def test_an_invalid_duration_and_an_unreachable_store_are_one_line_each(
    lab: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--lab", lab, "lease", "sim-a", "--for", "2 weeks"])
    assert exited.value.code == 2
    assert "argument --for: '2 weeks' is not a duration like 90s, 30m, 2h" in capsys.readouterr().err
    monkeypatch.setenv("HIL_LEASE_URL", "postgresql://hil:s3cret@127.0.0.1:1/hil")
    assert main(["--lab", lab, "leases"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hil: lease store postgresql://hil:***@127.0.0.1:1/hil is unreachable: ")
    assert err.count("\n") == 1 and "s3cret" not in err and "Traceback" not in err


def hil_process(lab: Path, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest_hil.cli.main", "--lab", str(lab), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def test_parallel_leases_each_keep_their_token(tmp_path: Path) -> None:
    boards = "".join(f"  b{n}:\n    resources:\n      console: {{driver: sim-console}}\n" for n in range(8))
    lab = tmp_path / "lab.yaml"
    lab.write_text(f"version: 1\nboards:\n{boards}")
    env = {"HIL_LEASE_URL": f"sqlite://{tmp_path}/leases.db", "XDG_STATE_HOME": str(tmp_path / "state")}
    runs = [hil_process(lab, "lease", f"b{n}", "--for", "10m", env=env) for n in range(8)]
    assert [run.wait(60) for run in runs] == [0] * 8, [run.stderr.read() for run in runs if run.stderr]
    tokens_file = tmp_path / "state" / "pytest-hil" / "tokens.json"
    assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600
    assert len(json.loads(tokens_file.read_text())[env["HIL_LEASE_URL"]]) == 8
    released = hil_process(lab, "release", env=env)
    assert released.wait(60) == 0
    assert open_store(env["HIL_LEASE_URL"]).holders() == {}


def test_a_token_that_cannot_be_kept_leaves_no_lease(tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text(SIM_LAB)
    (tmp_path / "not-a-folder").write_text("")
    env = {"HIL_LEASE_URL": f"sqlite://{tmp_path}/leases.db", "XDG_STATE_HOME": str(tmp_path / "not-a-folder")}
    run = hil_process(lab, "lease", "sim-a", "--for", "1h", env=env)
    assert run.wait(60) == 1
    assert run.stderr is not None
    err = run.stderr.read()
    assert err.startswith(f"hil: cannot keep lease tokens in {tmp_path / 'not-a-folder'}/pytest-hil/tokens.json: ")
    assert "Traceback" not in err
    assert open_store(env["HIL_LEASE_URL"], lab="test-lab").holders() == {}


def test_a_forced_release_records_the_real_user_and_prints_reasons_escaped(
    lab: str, store: LeaseStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store.acquire([["sim-a"]], BOB)
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("LOGNAME", "alice")
    assert main(["--lab", lab, "release", "--force", "sim-a", "--reason", "stuck\x1b[2J\x1b[31m red"]) == 0
    (entry,) = store.history()
    assert f"(by {pwd.getpwuid(os.getuid()).pw_name}@" in (entry.reason or "")
    capsys.readouterr()
    assert main(["--lab", lab, "leases", "--history"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "stuck\\x1b[2J\\x1b[31m red" in out
