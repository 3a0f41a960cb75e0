"""The `hil` command: check, boards and drivers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hil.cli.main import main
from tests.conftest import REPO, SIM_LAB

WriteLab = Callable[..., Path]


def test_check_passes_a_good_lab(write_lab: WriteLab, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_lab(SIM_LAB)
    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: OK (2 boards, 5 resources)\n"


def test_check_prints_every_error_line_and_exits_1(write_lab: WriteLab, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_lab("version: 1\nbords: {}\nboards:\n  a: {}\n")
    assert main(["check", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"{path}:2: bords: unknown top-level key (known: version, name, leases, remote, selectors, boards; 'x-' keys are free)",
        f"{path}:4: boards.a: board has no resources",
    ]


def test_check_takes_the_lab_from_the_environment(
    write_lab: WriteLab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIL_LAB", str(write_lab(SIM_LAB)))
    assert main(["check"]) == 0


def test_lab_option_works_before_the_verb(write_lab: WriteLab, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lab", str(write_lab(SIM_LAB)), "check"]) == 0


def test_no_lab_at_all_is_a_usage_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HIL_LAB", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["check"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == "hil: no lab file: give LAB, --lab or set HIL_LAB\n"


def test_boards_lists_boards_labels_and_resources(write_lab: WriteLab, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["boards", str(write_lab(SIM_LAB))]) == 0
    assert [line.split("  ")[0] for line in capsys.readouterr().out.splitlines()] == ["BOARD", "sim-a", "sim-b"]


def test_boards_masks_secrets_and_nothing_else(
    write_lab: WriteLab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_PW", "hunter2")
    monkeypatch.setenv("RACK", "rack-9")
    monkeypatch.setenv("LAB_HOST_SECRET", "ci@hidden-lab-host")
    path = write_lab(
        SIM_LAB.replace(
            "power: {driver: sim-power, boot_time: 0.1}", 'power: {driver: sim-power, password: "${SIM_PW}"}', 1
        )
        .replace("display: hdmi", 'display: hdmi, rack: "${RACK}"')
        .replace("  sim-a:\n", '  sim-a:\n    host: "${LAB_HOST_SECRET}"\n', 1)
    )
    assert main(["boards", "-v", str(path)]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and "hidden-lab-host" not in out
    assert "power: sim-power (password=***)" in out
    assert "rack=rack-9" in out  # a label is never a secret
    assert main(["boards", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and "hidden-lab-host" not in out and "rack-9" in out
    assert '"host": "***"' in out


def test_boards_of_a_bad_lab_exits_1_with_the_errors(write_lab: WriteLab, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_lab("version: 7\nboards: {a: {resources: {c: {driver: sim-console}}}}\n")
    assert main(["boards", str(path)]) == 1
    assert capsys.readouterr().err == f"{path}:1: version: unsupported version 7 (this pytest-hil reads version 1)\n"


def test_drivers_lists_kinds_interfaces_and_packages(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drivers"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == ["KIND", "INTERFACES", "PACKAGE"]
    assert ["sim-console", "console", "pytest-hil", "0.1.0"] in rows
    assert ["sim-power", "power", "pytest-hil", "0.1.0"] in rows


def test_drivers_verbose_documents_each_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drivers", "-v"]) == 0
    out = capsys.readouterr().out
    assert "  boot_time: number, default 1.0 - seconds from power-on to the login prompt" in out
    assert "  uart: 0 | 1, default 0 - 0: the firmware's console; 1: the power-management log" in out


def test_the_console_script_is_installed() -> None:
    hil = Path(sysconfig.get_path("scripts")) / "hil"
    assert hil.is_file(), "pip installed the hil console script beside this interpreter's scripts"
    result = subprocess.run([str(hil), "--help"], capture_output=True, text=True, check=True)
    assert "check" in result.stdout and "drivers" in result.stdout


def test_check_warns_about_a_secret_too_short_to_mask_in_text(
    write_lab: WriteLab, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lab(
        SIM_LAB.replace("power: {driver: sim-power, boot_time: 0.1}", "power: {driver: sim-power, password: pw}", 1)
    )
    assert main(["check", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{path}: OK (2 boards, 5 resources)\n"
    assert err == (
        f"{path}:7: boards.sim-a.resources.power.password: warning: a secret of 2 character(s) is masked where shown "
        "as a value, but too short to be searched for in console output and messages (use at least 4)\n"
    )


def completions(script: str, line: list[str], lab: Path) -> list[str]:
    """What bash offers for the last word of `line`, with the script `hil completion bash` printed."""
    words = " ".join(f"'{word}'" for word in line)
    program = (
        f'{script}\nCOMP_WORDS=({words}); COMP_CWORD={len(line) - 1}; _hil_complete; printf "%s\\n" "${{COMPREPLY[@]}}"'
    )
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "HIL_LAB": str(lab)}
    result = subprocess.run(["bash", "-c", program], capture_output=True, text=True, env=env, timeout=60)
    return result.stdout.split()


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts_are_printed(capsys: pytest.CaptureFixture[str], shell: str) -> None:
    assert main(["completion", shell]) == 0
    assert "_hil_complete" in capsys.readouterr().out


def test_bash_completes_verbs_boards_and_console_resources(
    write_lab: WriteLab, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = write_lab(SIM_LAB)
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert completions(script, ["hil", "po"], lab) == ["power"]
    assert completions(script, ["hil", "power", ""], lab)[:2] == ["sim-a", "sim-b"]
    assert completions(script, ["hil", "console", "sim-b", ""], lab) == ["console", "pmic"]
    assert completions(script, ["hil", "power", "sim-a", "c"], lab) == ["cycle"]
    assert completions(script, ["hil", "leases", "--h"], lab) == ["--help", "--history", "--hil-lab"]


def hil_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_hil.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_the_lab_option_goes_before_or_after_the_verb_in_either_spelling(write_lab: WriteLab, tmp_path: Path) -> None:
    lab = str(write_lab(SIM_LAB))
    env = {"HIL_LEASE_URL": f"sqlite://{tmp_path}/leases.db", "XDG_STATE_HOME": str(tmp_path)}
    for args in (["--lab", lab, "leases"], ["leases", "--lab", lab], ["leases", "--hil-lab", lab], ["--hil-lab", lab, "boards"],
                 ["boards", "--lab", lab], ["power", "sim-a", "status", "--lab", lab], ["leases", lab]):  # fmt: skip
        result = hil_cli(*args, env=env)
        assert result.returncode == 0, (args, result.stderr)


def test_hil_leases_with_only_a_store_url_lists_every_labs_boards(write_lab: WriteLab, tmp_path: Path) -> None:
    from pytest_hil.leases import Holder, open_store

    url = f"sqlite://{tmp_path}/leases.db"
    open_store(url, lab="team-a").acquire([["rpi-01"]], Holder("bob", "desk-2", 202))
    result = hil_cli("leases", "--json", env={"HIL_LEASE_URL": url, "HIL_LAB": ""})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["team-a/rpi-01"]["holder"] == "bob@desk-2 pid 202"


def test_json_everywhere_and_leases_json_lists_free_boards_too(write_lab: WriteLab, tmp_path: Path) -> None:
    lab = str(write_lab(SIM_LAB))
    env = {"HIL_LEASE_URL": f"sqlite://{tmp_path}/leases.db"}
    drivers = json.loads(hil_cli("drivers", "--json").stdout)
    assert drivers["sim-power"]["interfaces"] == ["power"] and any(
        o["name"] == "boot_time" for o in drivers["sim-power"]["options"]
    )
    leases = json.loads(hil_cli("--lab", lab, "leases", "--json", env=env).stdout)
    assert leases == {name: {"holder": None, "since": None, "expires": None, "queue": 0} for name in ("sim-a", "sim-b")}
    assert json.loads(hil_cli("--lab", lab, "leases", "--history", "--json", env=env).stdout) == []


def test_tables_fit_the_terminal(tmp_path: Path) -> None:
    lab = REPO / "conftest_examples" / "lab.yaml"
    result = hil_cli("boards", str(lab), env={"COLUMNS": "80"})
    assert result.returncode == 0 and max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "…" in result.stdout


def test_a_closed_pipe_ends_quietly() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_hil.cli.main", "drivers", "-v"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader went away (`| head` done)
    assert process.wait(60) == 141
    assert b"Traceback" not in process.stderr.read()


@pytest.mark.parametrize(
    ("text", "seconds"), [("1h30m", 5400.0), ("90s", 90.0), ("1.5h", 5400.0), ("2d", 172800.0), ("45", 45.0)]
)
def test_durations(text: str, seconds: float) -> None:
    from pytest_hil.cli.lease_commands import duration

    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["0s", "0", "1x", "h", "", "1h-30m"])
def test_bad_durations_are_refused(text: str) -> None:
    import argparse

    from pytest_hil.cli.lease_commands import duration

    with pytest.raises(argparse.ArgumentTypeError):
        duration(text)
