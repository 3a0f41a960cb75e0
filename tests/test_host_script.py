"""host-script: named lab-host scripts with arguments as $1..$n and keyword arguments as environment
variables, never spliced into the script; `hil script`; the fixture by resource name."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hil import DriverError
from pytest_hil.board import Board
from pytest_hil.cli.main import main
from pytest_hil.console.log import BoardLogs
from pytest_hil.interfaces import Scripts
from pytest_hil.lab import load_lab

LAB = """\
version: 1
name: script-lab
boards:
  rig-1:
    resources:
      relay:
        driver: host-script
        timeout: 2
        methods:
          greet: 'echo "hello $1 and $2"; echo "to stderr" >&2; exit 3'
          where: pwd
          env: 'printf "%s|%s" "$COLOUR" "${HOME_RIG:-none}"'
          sleepy: sleep 30
          count: 'echo $#'
      tools:
        driver: host-script
        cwd: tools
        shell: [bash, -c]
        methods:
          where: pwd
          bashism: '[ -n "$BASH_VERSION" ] && echo bash'
"""


@pytest.fixture
def lab_file(write_lab: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HIL_LEASE_URL", f"sqlite://{tmp_path}/leases.db")
    (tmp_path / "tools").mkdir()
    return write_lab(LAB)


@pytest.fixture
def board(lab_file: Path, tmp_path: Path) -> Board:
    lab = load_lab(lab_file)
    return Board(lab.boards["rig-1"], lab_file.parent, BoardLogs("rig-1", tmp_path / "logs", lab.secrets))


def test_arguments_are_positional_output_and_status_come_back_apart(board: Board) -> None:
    relay = board.get(Scripts, "relay")
    result = relay.call("greet", "Ada", 42)
    assert (result.stdout, result.stderr, result.exit_code) == ("hello Ada and 42\n", "to stderr\n", 3)
    assert relay.greet("Bob", "Eve").stdout == "hello Bob and Eve\n"  # the same, as a method
    assert relay.count().stdout == "0\n" and relay.count("a b", "").stdout == "2\n"


def test_no_value_a_test_passes_can_run_a_command(board: Board, tmp_path: Path) -> None:
    relay = board.get(Scripts, "relay")
    marker = tmp_path / "pwned"
    hostile = f"x; touch {marker} $(touch {marker}) `touch {marker}`"
    assert relay.greet(hostile, "y").stdout == f"hello {hostile} and y\n"
    assert relay.env(COLOUR=f"$(touch {marker})").stdout.startswith(f"$(touch {marker})|")
    assert not marker.exists()


def test_a_lab_variable_in_a_script_is_data_for_the_shell(
    write_lab: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "pwned"
    monkeypatch.setenv("HOME_RIG", f"$(touch {marker})")
    path = write_lab(LAB)
    lab = load_lab(path)
    board = Board(lab.boards["rig-1"], path.parent, BoardLogs("rig-1", None, lab.secrets))
    assert board.get(Scripts, "relay").env(COLOUR="red").stdout == f"red|$(touch {marker})"
    assert not marker.exists()


def test_scripts_run_in_the_lab_folder_or_their_cwd_with_their_shell(board: Board, lab_file: Path) -> None:
    assert board.get(Scripts, "relay").where().stdout.strip() == str(lab_file.parent)
    tools = board.get(Scripts, "tools")
    assert tools.where().stdout.strip() == str(lab_file.parent / "tools")
    assert tools.bashism().stdout == "bash\n"


def test_unknown_names_and_bad_environment_names_are_refused(board: Board) -> None:
    relay = board.get(Scripts, "relay")
    with pytest.raises(AttributeError, match=r"has no script 'reboot' \(it has: greet, where, env, sleepy, count\)"):
        relay.reboot()
    with pytest.raises(AttributeError, match="has no script 'reboot'"):
        relay.call("reboot")
    with pytest.raises(ValueError, match="'A-B' cannot be an environment variable name"):
        relay.call("env", **{"A-B": "1"})


def test_a_script_that_hangs_is_killed_after_its_timeout_and_every_call_is_logged(board: Board, tmp_path: Path) -> None:
    relay = board.get(Scripts, "relay")
    started = time.monotonic()
    with pytest.raises(DriverError, match=r"board rig-1, resource relay: script sleepy did not finish within 2 s"):
        relay.sleepy()
    assert time.monotonic() - started < 20
    relay.greet("a", "b")
    notes = board.logs.notes
    assert "[hil] script sleepy" in notes and "[hil] script greet a b" in notes
    assert "[hil] script greet: exit 3 after " in " ".join(notes)


@pytest.mark.parametrize(
    ("methods", "said"),
    [
        ("{}", "methods: name at least one script"),
        ("{call: 'true'}", "'call' cannot be a script name"),
        ("{'2go': 'true'}", "'2go' cannot be a script name"),
        ("{ok: [1]}", "expected string"),
    ],
)
def test_bad_scripts_are_lab_errors_with_file_and_line(
    write_lab: Callable[..., Path], methods: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lab(
        f"version: 1\nboards:\n  rig:\n    resources:\n      relay: {{driver: host-script, methods: {methods}}}\n"
    )
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:5:" in err and said in err


def test_hil_script_passes_output_and_exit_code_through(lab_file: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["--lab", str(lab_file), "script", "--resource", "relay", "rig-1", "greet", "--", "x", "y z"]) == 3
    out, err = capfd.readouterr()
    assert (out, err) == ("hello x and y z\n", "to stderr\n")
    assert main(["--lab", str(lab_file), "script", "rig-1", "greet"]) == 255
    assert "board rig-1 has several Scripts resources (relay, tools): name one" in capfd.readouterr().err
    assert main(["--lab", str(lab_file), "script", "--resource", "relay", "rig-1", "nope"]) == 255
    assert capfd.readouterr().err == (
        "hil: board rig-1, resource relay has no script 'nope' (it has: greet, where, env, sleepy, count)\n"
    )


def test_the_resource_is_a_fixture_by_its_name(pytester: pytest.Pytester, lab_file: Path) -> None:
    pytester.makepyfile(
        """
        def test_relay(relay):
            assert relay.greet("from", "pytest").stdout == "hello from and pytest\\n"
        """
    )
    pytester.runpytest(f"--hil-lab={lab_file}").assert_outcomes(passed=1)
    assert os.environ.get("HIL_LEASE_URL")
