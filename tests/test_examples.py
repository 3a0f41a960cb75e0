"""The example suite users copy runs green on the simulated lab, with junit output."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "conftest_examples"


def test_the_example_suite_passes_on_the_simulated_lab(pytester: pytest.Pytester) -> None:
    shutil.copytree(EXAMPLES, pytester.path / "examples")
    result = pytester.runpytest_subprocess(
        "--hil-lab", "examples/lab.yaml", "examples", "-rs", "--junitxml=report.xml", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=11, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * needs family=simboard and resource can0: no board has it*"])
    root = ET.parse(pytester.path / "report.xml").getroot()
    boards = {
        case.get("name"): prop.get("value")
        for case in root.iter("testcase")
        for prop in case.iterfind("properties/property[@name='hil.board']")
    }
    assert boards["test_on_every_board[sim-a]"] == "sim-a"
    assert boards["test_on_every_board[sim-b]"] == "sim-b"
    assert boards["test_power_management_log"] == "sim-b"
    assert boards["test_two_boards"] == "sim-a,sim-b"


def test_the_qemu_example_boots_a_real_kernel(
    pytester: pytest.Pytester, qemu_kernel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(EXAMPLES / "qemu", pytester.path / "qemu", ignore=shutil.ignore_patterns("build"))
    monkeypatch.setenv("HIL_QEMU_KERNEL", str(qemu_kernel))
    result = pytester.runpytest_subprocess("--hil-lab", "qemu/lab.yaml", "qemu", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
