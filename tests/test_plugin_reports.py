"""junit properties and the pytest-facing hooks a conftest.py implements."""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_hil.paths import folder_name_of
from tests.conftest import dedent


def junit(pytester: pytest.Pytester, lab: Path, source: str, *args: str) -> ET.Element:
    pytester.makepyfile(dedent(source))
    pytester.runpytest(f"--hil-lab={lab}", "--junitxml=report.xml", *args)
    return ET.parse(pytester.path / "report.xml").getroot()


def properties(element: ET.Element) -> list[tuple[str, str]]:
    return [(prop.get("name", ""), prop.get("value", "")) for prop in element.iterfind("properties/property")]


def test_testcases_carry_board_and_label_properties(pytester: pytest.Pytester, sim_lab: Path) -> None:
    tests = (
        "def test_x(pmic, power):\n    power.on()\n\ndef test_quiet(pmic):\n    pass\n\ndef test_plain():\n    pass\n"
    )
    root = junit(pytester, sim_lab, tests)
    cases = {case.get("name"): case for case in root.iter("testcase")}
    board, family, arch, log = properties(cases["test_x"])
    assert [board, family, arch] == [
        ("hil.board", "sim-b"),
        ("hil.label.family", "simboard"),
        ("hil.label.arch", "riscv64"),
    ]
    assert log[0] == "hil.console_log" and log[1].endswith(
        folder_name_of("test_testcases_carry_board_and_label_properties.py::test_x") + "/sim-b.pmic.log"
    )
    assert properties(cases["test_plain"]) == []
    assert [name for name, _ in properties(cases["test_quiet"])] == ["hil.board", "hil.label.family", "hil.label.arch"]


def test_the_suite_carries_the_lab_path_and_its_checksum(pytester: pytest.Pytester, sim_lab: Path) -> None:
    root = junit(pytester, sim_lab, "def test_x(board):\n    pass\n")
    (suite,) = root.iter("testsuite")
    (lease,) = [value for name, value in properties(suite) if name == "hil.lease.sim-a"]
    assert properties(suite) == [
        ("hil.lab", str(sim_lab)),
        ("hil.lab.sha256", hashlib.sha256(sim_lab.read_bytes()).hexdigest()),
        ("hil.lease.sim-a", lease),
    ]
    assert re.fullmatch(r"\S+@\S+ pid \d+(?: \(.*\))?; waited \d+\.\d\d s", lease)


def test_labels_from_the_environment_are_not_masked(
    pytester: pytest.Pytester, sim_lab: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RACK", "rack-7")
    sim_lab.write_text(sim_lab.read_text().replace("arch: riscv64", 'arch: riscv64, rack: "${RACK}"'))
    root = junit(pytester, sim_lab, "def test_x(pmic, board):\n    assert board.labels['rack'] == 'rack-7'\n")
    (case,) = root.iter("testcase")
    assert ("hil.label.rack", "rack-7") in properties(case)


def test_unservable_tests_have_no_board_property(pytester: pytest.Pytester, sim_lab: Path) -> None:
    root = junit(pytester, sim_lab, "import pytest\n\n@pytest.mark.hil('family=rpi4')\ndef test_x(board):\n    pass\n")
    (case,) = root.iter("testcase")
    assert properties(case) == []
    assert case.find("skipped") is not None


HOOKS = """
    events = []

    def pytest_hil_board_acquired(board, config):
        events.append(f"acquired {board.name}")

    def pytest_hil_board_released(board, config):
        events.append(f"released {board.name}")

    def pytest_hil_after_test(board, item, report):
        events.append(f"after {item.name} on {board.name}: {report.when} {report.outcome}")

    def pytest_unconfigure(config):
        with open("events.txt", "w") as out:
            out.write("\\n".join(events))
"""


def test_hooks_are_called_at_their_moments(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makeconftest(dedent(HOOKS))
    pytester.makepyfile(
        dedent(
            """
            import pytest

            def test_a(board):
                pass

            def test_b(pmic):
                assert False

            @pytest.mark.hil(board="sim-a")
            def test_c(board):
                pass
            """
        )
    )
    pytester.runpytest(f"--hil-lab={sim_lab}").assert_outcomes(passed=2, failed=1)
    assert (pytester.path / "events.txt").read_text().splitlines() == [
        "acquired sim-a",
        "after test_a on sim-a: call passed",
        "acquired sim-b",
        "after test_b on sim-b: call failed",
        "after test_c on sim-a: call passed",
        "released sim-b",
        "released sim-a",
    ]


def test_select_board_hook_chooses_among_candidates(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makeconftest(
        dedent(
            """
            def pytest_hil_select_board(item, candidates):
                assert [board.name for board in candidates] == ["sim-a", "sim-b"]
                return candidates[-1] if item.name == "test_last" else None
            """
        )
    )
    pytester.makepyfile(
        "def test_default(board):\n    assert board.name == 'sim-a'\n\n"
        "def test_last(board):\n    assert board.name == 'sim-b'\n\n"
        "def test_again(board):\n    assert board.name == 'sim-a'  # the first candidate the session holds\n"
    )
    pytester.runpytest(f"--hil-lab={sim_lab}").assert_outcomes(passed=3)


def test_select_board_may_answer_with_a_name(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makeconftest("def pytest_hil_select_board(item, candidates):\n    return 'sim-b'\n")
    pytester.makepyfile("def test_x(board):\n    assert board.name == 'sim-b'\n")
    pytester.runpytest(f"--hil-lab={sim_lab}").assert_outcomes(passed=1)


def test_select_board_answering_a_non_candidate_is_an_error(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makeconftest("def pytest_hil_select_board(item, candidates):\n    return 'sim-z'\n")
    pytester.makepyfile("def test_x(board):\n    pass\n")
    result = pytester.runpytest(f"--hil-lab={sim_lab}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*pytest_hil_select_board returned 'sim-z', not one of sim-a, sim-b"])


def test_a_failing_after_test_hook_warns_without_losing_the_result(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makeconftest(
        "def pytest_hil_after_test(board, item, report):\n    raise RuntimeError('log collector broke')\n"
    )
    pytester.makepyfile("def test_x(board):\n    pass\n")
    result = pytester.runpytest(f"--hil-lab={sim_lab}")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*pytest_hil_after_test failed on sim-a: RuntimeError('log collector broke')"])


def test_drivers_are_created_lazily_and_closed_when_the_session_ends(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makeconftest(
        dedent(
            """
            def pytest_hil_board_released(board, config):
                with open("created.txt", "w") as out:
                    out.write(",".join(board.created()))
            """
        )
    )
    pytester.makepyfile(
        dedent(
            """
            def test_power_only(power, board):
                assert board.created() == ["power"]

            def test_then_console(console, board):
                assert board.created() == ["power", "console"]
                assert False, "a failing test still gets its drivers closed"
            """
        )
    )
    pytester.runpytest(f"--hil-lab={sim_lab}").assert_outcomes(passed=1, failed=1)
    assert (pytester.path / "created.txt").read_text() == "power,console"
    from hil_drivers.sim import hardware

    assert hardware._bench == {}, "closing the drivers unplugged the simulated board"


def test_console_logs_are_gitlab_attachments_in_system_out(pytester: pytest.Pytester, sim_lab: Path) -> None:
    root = junit(pytester, sim_lab, "def test_x(pmic, power):\n    power.on()\n\ndef test_plain():\n    pass\n")
    cases = {case.get("name"): case for case in root.iter("testcase")}
    logs = [value for name, value in properties(cases["test_x"]) if name == "hil.console_log"]
    out = cases["test_x"].findtext("system-out") or ""
    assert logs and out.splitlines() == [f"[[ATTACHMENT|{path}]]" for path in logs]
    assert cases["test_plain"].find("system-out") is None


def test_console_logs_are_linked_from_pytest_html(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytest.importorskip("pytest_html")
    pytester.makepyfile("def test_x(pmic, power):\n    power.on()\n")
    pytester.runpytest(f"--hil-lab={sim_lab}", "--html=report.html", "--self-contained-html").assert_outcomes(passed=1)
    html = (pytester.path / "report.html").read_text()
    assert "sim-b.pmic.log" in html and "file://" in html
