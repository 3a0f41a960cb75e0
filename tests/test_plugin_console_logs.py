"""Console logs in every report, the shell fixture, and boards that break."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_hil.leases import default_url, open_store
from pytest_hil.paths import folder_name_of
from tests.conftest import dedent

LAB = """
version: 1
boards:
  sim-a:
    labels: {family: simboard}
    resources:
      power: {driver: sim-power, password: "${SIM_PW}", boot_time: 0.1}
      console: {driver: sim-console, timeout: 5}
    shell: {username: root, password: "${SIM_PW}", prompt: 'root@sim-a:\\S*# ', boot_timeout: 2}
"""


@pytest.fixture
def lab(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SIM_PW", "hunter22")
    path = pytester.path / "lab.yaml"
    path.write_text(dedent(LAB))
    return path


def test_the_shell_fixture_gives_a_logged_in_shell(pytester: pytest.Pytester, lab: Path) -> None:
    pytester.makepyfile(
        dedent(
            """
            def test_first(shell):
                assert shell.run("id -un").stdout == "root\\n"
                shell.run_check("cd /tmp")

            def test_state_persists(shell):
                assert shell.run("pwd").stdout == "/tmp\\n"
            """
        )
    )
    pytester.runpytest(f"--hil-lab={lab}").assert_outcomes(passed=2)


def test_each_test_log_holds_exactly_what_the_board_printed_during_it(pytester: pytest.Pytester, lab: Path) -> None:
    pytester.makepyfile(
        dedent(
            """
            def test_one(shell):
                shell.run("echo first-test-output")

            def test_two(shell):
                shell.run("echo second-test-output")
            """
        )
    )
    pytester.runpytest(f"--hil-lab={lab}", "--hil-log-dir=logs").assert_outcomes(passed=2)
    one = (
        pytester.path
        / "logs"
        / folder_name_of("test_each_test_log_holds_exactly_what_the_board_printed_during_it.py::test_one")
        / "sim-a.console.log"
    ).read_text()
    two = (
        pytester.path
        / "logs"
        / folder_name_of("test_each_test_log_holds_exactly_what_the_board_printed_during_it.py::test_two")
        / "sim-a.console.log"
    ).read_text()
    assert "login:" in one and "first-test-output" in one and "second-test-output" not in one
    assert "login:" not in two and "first-test-output" not in two and "second-test-output" in two
    session = (pytester.path / "logs" / "session" / "sim-a.console.log").read_text()
    assert session.split("\n[hil] shell done")[0].endswith(two)  # then the shell puts the terminal back
    assert one in session


def test_a_failing_tests_console_goes_into_the_failure_and_junit(pytester: pytest.Pytester, lab: Path) -> None:
    pytester.makepyfile(
        dedent(
            """
            def test_fails(shell):
                shell.run("echo the-board-said-this")
                assert False, "boom"
            """
        )
    )
    result = pytester.runpytest(f"--hil-lab={lab}", "--junitxml=report.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*console sim-a.console: last 50 lines of *sim-a.console.log*", "the-board-said-this"])
    root = ET.parse(pytester.path / "report.xml").getroot()
    (case,) = root.iter("testcase")
    failure = case.find("failure")
    assert failure is not None and "the-board-said-this" in (failure.text or "")
    logs = [prop.get("value", "") for prop in case.iterfind("properties/property[@name='hil.console_log']")]
    assert len(logs) == 1 and "the-board-said-this" in Path(logs[0]).read_text()


def test_passwords_are_masked_in_every_log(pytester: pytest.Pytester, lab: Path) -> None:
    pytester.makepyfile(
        "import os\n\ndef test_x(shell):\n    shell.run('echo secret is ' + os.environ['SIM_PW'])\n    assert False\n"
    )
    result = pytester.runpytest(f"--hil-lab={lab}", "--hil-log-dir=logs", "--junitxml=report.xml")
    result.assert_outcomes(failed=1)
    assert "hunter22" not in result.stdout.str()
    assert "hunter22" not in (pytester.path / "report.xml").read_text()
    for log in (pytester.path / "logs").rglob("*.log"):
        assert "hunter22" not in log.read_text()
    assert "secret is ***" in (pytester.path / "logs" / "session" / "sim-a.console.log").read_text()


def test_log_timestamps_prefix_each_line(pytester: pytest.Pytester, lab: Path) -> None:
    pytester.makepyfile("def test_x(shell):\n    shell.run('echo stamped')\n")
    pytester.runpytest(f"--hil-lab={lab}", "--hil-log-dir=logs", "--hil-log-timestamps").assert_outcomes(passed=1)
    (log,) = (pytester.path / "logs").glob("*test_x-*/sim-a.console.log")
    lines = log.read_text().splitlines()
    assert all(line.startswith("[") and line[11:13] == "] " for line in lines if line)
    assert any(line.endswith("] stamped\r") or line.endswith("] stamped") for line in lines)
    opened = lines[0].split("] ", 1)[1]  # the wall-clock anchor, to line the log up with candump's epoch times
    assert opened.startswith("[hil] log opened 20") and " (epoch " in opened
    assert abs(float(opened.split("(epoch ")[1].split(")")[0]) - time.time()) < 120


def test_an_unreachable_board_is_broken_for_the_rest_of_the_session(pytester: pytest.Pytester, lab: Path) -> None:
    lab.write_text(lab.read_text().replace("prompt: 'root@sim-a:\\S*# '", "prompt: 'nope> '"))
    pytester.makepyfile(
        dedent(
            """
            def test_breaks_it(shell):
                pass

            def test_skipped(shell):
                pass

            def test_skipped_too(power):
                pass
            """
        )
    )
    result = pytester.runpytest(f"--hil-lab={lab}", "-rs")
    result.assert_outcomes(errors=1, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*logged in as root, but no shell prompt matching shell.prompt 'nope> ' came within*",
            "*root@sim-a:*",
            "SKIPPED [[]1[]] *:4: board sim-a is broken: board sim-a, resource console (shell): logged in as root, but no shell prompt*",
            "SKIPPED [[]1[]] *:7: board sim-a is broken: *",
        ]
    )
    (ended,) = open_store(default_url()).history()  # the board went back to the lab as broken, saying why
    assert ended.board == "sim-a" and ended.outcome == "broken"
    assert ended.reason is not None and "no shell prompt matching shell.prompt 'nope> '" in ended.reason


def test_a_refused_login_says_so_without_waiting_out_the_boot_timeout(
    pytester: pytest.Pytester, lab: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab.write_text(
        lab.read_text().replace(
            'shell: {username: root, password: "${SIM_PW}"', "shell: {username: root, password: not-the-password"
        )
    )
    pytester.makepyfile("def test_x(shell):\n    pass\n")
    result = pytester.runpytest(f"--hil-lab={lab}", "--durations=1")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*login as root refused (wrong shell.password or shell.username?)*"])


def test_a_board_without_a_shell_console_cannot_serve_shell_tests(pytester: pytest.Pytester) -> None:
    (pytester.path / "lab.yaml").write_text(
        "version: 1\nboards:\n  p:\n    resources:\n      power: {driver: sim-power}\n"
    )
    pytester.makepyfile("def test_x(shell):\n    pass\n")
    result = pytester.runpytest("--hil-lab=lab.yaml", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs resource shell: no board has it (p: no console for a shell)"])


def test_a_pattern_that_never_comes_fails_with_pattern_timeout_and_lines_and_the_log_keeps_going(
    pytester: pytest.Pytester, lab: Path
) -> None:
    lab.write_text(lab.read_text().replace("boot_time: 0.1}", "boot_time: 0.1, kernel_messages: 0.1}"))
    pytester.makepyfile(
        dedent(
            """
            import time

            def test_hangs(power, console):
                power.on()
                console.expect("the answer is 42", timeout=1.5)
            """
        )
    )
    result = pytester.runpytest(f"--hil-lab={lab}", "--hil-log-dir=logs")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*board sim-a, resource console: 'the answer is 42' did not appear within 1.5 s; last console lines:",
            "*hil-sim: heartbeat *",
        ]
    )
    (log,) = (pytester.path / "logs").glob("*test_hangs-*/sim-a.console.log")
    text = log.read_text()
    assert "U-Boot" in text and "login:" in text
    assert text.count("hil-sim: heartbeat") >= 5  # printed while the test waited in vain


def test_read_until_quiet_returns_everything_until_the_board_falls_silent(pytester: pytest.Pytester, lab: Path) -> None:
    pytester.makepyfile(
        dedent(
            """
            def test_quiet(power, console):
                power.on()
                text = console.read_until_quiet(quiet=0.5, timeout=10)
                assert text.startswith("U-Boot") and text.rstrip().endswith("login:")
                assert console.read_until_quiet(quiet=0.2) == ""

            def test_bounded_by_timeout(power, console):
                power.cycle(off_time=0.1)
                assert "login:" not in console.read_until_quiet(quiet=1, timeout=0.03)
            """
        )
    )
    pytester.runpytest(f"--hil-lab={lab}").assert_outcomes(passed=2)


def test_failure_tails_leave_out_the_shells_own_lines(pytester: pytest.Pytester, lab: Path) -> None:
    pytester.makepyfile("def test_x(shell):\n    shell.run('echo visible-output')\n    assert False\n")
    result = pytester.runpytest(f"--hil-lab={lab}")
    result.assert_outcomes(failed=1)
    tail = result.stdout.str().split("last 50 lines of", 1)[1]
    assert "visible-output" in tail
    assert "stty -echo" not in tail and "printf '%s%s" not in tail
    assert re.search(r"HIL[0-9a-f]{8}", tail) is None


def test_a_board_that_cannot_boot_fails_its_test_at_once(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("lab.yaml").write_text(
        "version: 1\nboards:\n  sim-a:\n    resources:\n"
        "      power: {driver: sim-power, boot_time: 0.1}\n      console: {driver: sim-console, timeout: 5}\n"
        "      storage: {driver: sim-storage}\n"
        "    shell: {username: root, prompt: 'root@sim-a:\\S*# '}\n"  # the default boot_timeout: 120 s
    )
    pytester.makepyfile("def test_x(storage, shell):\n    pass\n\ndef test_y(shell):\n    pass\n")
    started = time.monotonic()
    result = pytester.runpytest_subprocess("--hil-lab=lab.yaml", "-rs")
    assert time.monotonic() - started < 30
    result.assert_outcomes(errors=1, skipped=1)  # the board is broken for the rest of the session
    result.stdout.fnmatch_lines(["*the board cannot boot: 'MMC: no bootable image on SD card' (shell.boot_failures)*"])
    assert "\n\n\n" not in result.stdout.str()
