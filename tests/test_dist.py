"""--hil-dist: one xdist worker per leased board, tests routed by need, crashes and broken boards."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("xdist")

LAB = """\
version: 1
boards:
  sim-a:
    labels: {family: simboard, arch: arm64}
    resources:
      power: {driver: sim-power, boot_time: 0.1}
      console: {driver: sim-console, timeout: 5}
    shell: {username: root, prompt: 'root@sim-a:\\S*# '}
  sim-b:
    labels: {family: simboard, arch: riscv64}
    resources:
      power: {driver: sim-power, boot_time: 0.1}
      console: {driver: sim-console, timeout: 5}
      pmic: {driver: sim-console, uart: 1, timeout: 5}
    shell: {username: root, prompt: 'root@sim-b:\\S*# '}
"""

ROUTED = """
import os
import pytest

@pytest.mark.parametrize("n", range(4))
def test_any(board, n):
    pass

def test_pmic(pmic, board):
    assert board.name == "sim-b"

@pytest.mark.hil("arch=arm64")
def test_arm(board):
    assert board.name == "sim-a"

@pytest.mark.hil(roles={"a": "arch=arm64", "b": "arch=riscv64"})
def test_two(boards):
    assert {b.name for b in boards.values()} == {"sim-a", "sim-b"}

@pytest.mark.hil("arch=x86")
def test_none(board):
    pass

def test_worker_binding(board):
    assert os.environ["PYTEST_XDIST_WORKER"] in ("gw0", "gw1")
"""


@pytest.fixture
def lab(pytester: pytest.Pytester) -> Path:
    path = pytester.path / "lab.yaml"
    path.write_text(LAB)
    return path


def boards_in_junit(path: Path) -> dict[str, str]:
    root = ET.parse(path).getroot()
    return {
        case.get("name") or "": prop.get("value") or ""
        for case in root.iter("testcase")
        for prop in case.iterfind("properties/property[@name='hil.board']")
    }


def test_each_test_runs_on_a_board_that_can_serve_it(pytester: pytest.Pytester, lab: Path) -> None:
    pytester.makepyfile(test_routed=ROUTED)
    result = pytester.runpytest_subprocess(f"--hil-lab={lab}", "--hil-dist", "-v", "-rs", "--junitxml=report.xml")
    result.assert_outcomes(passed=8, skipped=1)
    result.stdout.fnmatch_lines_random(
        [
            "scheduling tests via HilScheduling",
            "*PASSED on sim-b test_routed.py::test_pmic*",
            "*PASSED on sim-a test_routed.py::test_arm*",
            "*PASSED on sim-a,sim-b test_routed.py::test_two*",
            "SKIPPED * needs arch=x86: no board has it*",
            "pytest-hil: workers gw0 -> sim-a, gw1 -> sim-b",
        ]
    )
    boards = boards_in_junit(pytester.path / "report.xml")
    assert boards["test_pmic"] == "sim-b" and boards["test_arm"] == "sim-a" and boards["test_two"] == "sim-a,sim-b"
    assert {boards[f"test_any[{n}]"] for n in range(4)} <= {"sim-a", "sim-b"}
    suite = ET.parse(pytester.path / "report.xml").getroot()
    assert {p.get("name") for p in suite.iter("property")} >= {"hil.lease.sim-a", "hil.lease.sim-b"}


def test_a_crashed_worker_is_restarted_on_its_board_and_the_test_fails_with_its_console(
    pytester: pytest.Pytester, lab: Path
) -> None:
    pytester.makepyfile(
        test_crash="""
        import os

        def test_first(console, power):
            power.on()
            console.expect("login: ")
            os._exit(3)

        def test_after(board):
            assert board.name == "sim-a"
        """
    )
    result = pytester.runpytest_subprocess(f"--hil-lab={lab}", "--hil-dist", "--hil-board=sim-a", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines_random(
        [
            "*worker 'gw0' crashed while running 'test_crash.py::test_first'",
            "*console sim-a.console: last 50 lines of *test_crash.py_test_first-*",
            "sim-a login:*",
            "*PASSED on sim-a test_crash.py::test_after*",
            "pytest-hil: workers gw0 -> sim-a, gw1 -> sim-a",
        ]
    )


def test_a_broken_board_stops_getting_tests_and_the_summary_says_why(pytester: pytest.Pytester, lab: Path) -> None:
    lab.write_text(LAB.replace("prompt: 'root@sim-b:\\S*# '}", "prompt: 'nope> ', boot_timeout: 2}"))
    pytester.makepyfile(
        test_broken="""
        import pytest

        @pytest.mark.parametrize("n", range(8))
        def test_shell(shell, n):
            assert shell.run("echo ok").stdout == "ok\\n"
        """
    )
    result = pytester.runpytest_subprocess(f"--hil-lab={lab}", "--hil-dist", "-v", "-rs")
    result.assert_outcomes(errors=1, passed=7)  # every other test ran on sim-a, none was skipped
    result.stdout.fnmatch_lines(["*pytest-hil: board sim-b broke: board sim-b, resource console (shell): logged in*"])
    assert "PASSED on sim-b" not in result.stdout.str()


def test_durations_from_the_last_run_go_longest_first(pytester: pytest.Pytester, lab: Path) -> None:
    pytester.makepyfile(
        test_timed="""
        import time
        import pytest

        @pytest.mark.parametrize("seconds", [0.05, 0.4, 0.2])
        def test_sleep(board, seconds):
            time.sleep(seconds)
            with open("order.txt", "a") as out:
                out.write(f"{seconds}\\n")
        """
    )
    pytester.runpytest_subprocess(f"--hil-lab={lab}", "--hil-dist", "--hil-board=sim-a").assert_outcomes(passed=3)
    (pytester.path / "order.txt").unlink()
    pytester.runpytest_subprocess(f"--hil-lab={lab}", "--hil-dist", "--hil-board=sim-a").assert_outcomes(passed=3)
    assert (pytester.path / "order.txt").read_text().split() == ["0.4", "0.2", "0.05"]


def test_hil_dist_without_xdist_says_what_to_install(pytester: pytest.Pytester, lab: Path) -> None:
    pytester.makepyfile("def test_x(board):\n    pass\n")
    result = pytester.runpytest_subprocess(f"--hil-lab={lab}", "--hil-dist", "-p", "no:xdist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--hil-dist needs pytest-xdist: pip install pytest-xdist*"])


def test_contradicting_xdist_options_are_refused(pytester: pytest.Pytester, lab: Path) -> None:
    pytester.makepyfile("def test_x(board):\n    pass\n")
    result = pytester.runpytest_subprocess(f"--hil-lab={lab}", "--hil-dist", "-n", "3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--hil-dist starts one worker per leased board itself: drop -n, --dist and --tx"])


def test_no_free_board_before_the_lease_timeout_fails_fast_naming_the_holder(
    pytester: pytest.Pytester, lab: Path, tmp_path: Path
) -> None:
    from pytest_hil.leases import Holder, open_store

    url = f"sqlite://{tmp_path}/leases.db"
    store = open_store(url)
    store.acquire([["sim-a"], ["sim-b"]], Holder("bob", "desk-2", 202))
    pytester.makepyfile("def test_x(board):\n    pass\n")
    result = pytester.runpytest_subprocess(
        f"--hil-lab={lab}", "--hil-dist", f"--hil-lease-url={url}", "--hil-lease-timeout=0.3"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*--hil-dist: no board free for the selected tests: waited 0.3 s for one of sim-a, sim-b; held: sim-a by bob@*"
        ]
    )
    assert {info.holder.user for info in store.holders().values()} == {"bob"}  # nothing left half-taken


def test_a_busy_board_is_left_out_and_the_free_ones_serve(pytester: pytest.Pytester, lab: Path, tmp_path: Path) -> None:
    from pytest_hil.leases import Holder, open_store

    url = f"sqlite://{tmp_path}/leases.db"
    store = open_store(url)
    store.acquire([["sim-b"]], Holder("bob", "desk-2", 202))  # the second board busy: the first is kept
    pytester.makepyfile(
        f"""
        import pytest
        from pytest_hil.leases import open_store

        @pytest.mark.parametrize("n", range(4))
        def test_x(board, n):
            assert board.name == "sim-a"
            assert open_store({url!r}).holders()["sim-a"].holder.user != "bob"  # leased by this run throughout
        """
    )
    result = pytester.runpytest_subprocess(f"--hil-lab={lab}", "--hil-dist", f"--hil-lease-url={url}")
    result.assert_outcomes(passed=4)
    assert [(entry.board, entry.outcome) for entry in store.history()] == [("sim-a", "released")]
    assert {name: info.holder.user for name, info in store.holders().items()} == {"sim-b": "bob"}
