"""The plugin's options end to end: where the lab comes from, board filters, strictness, artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_hil.paths import folder_name_of
from tests.conftest import SIM_LAB, dedent

HIL_TESTS = """
    import pytest

    def test_plain():
        assert 1 + 1 == 2

    @pytest.mark.hil("family=simboard")
    def test_marked():
        pass

    def test_with_power(power):
        pass

    def test_with_board(board):
        pass
"""


def test_without_a_lab_the_plugin_is_inert(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(dedent(HIL_TESTS))
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines(["SKIPPED * no lab file: pass --hil-lab, set the hil_lab ini option or HIL_LAB"])


def test_without_a_lab_non_hil_fixtures_of_the_same_name_are_untouched(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("import pytest\n\n@pytest.fixture\ndef power():\n    return 'mains'\n")
    pytester.makepyfile("def test_mine(power):\n    assert power == 'mains'\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_hil_lab_option_loads_the_lab(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makepyfile(
        "def test_lab(hil_lab):\n    assert hil_lab.name == 'test-lab'\n    assert list(hil_lab.boards) == ['sim-a', 'sim-b']\n"
    )
    pytester.runpytest(f"--hil-lab={sim_lab}").assert_outcomes(passed=1)


def test_hil_lab_ini_option_is_relative_to_the_ini_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    (pytester.path / "labs").mkdir()
    (pytester.path / "labs" / "lab.yaml").write_text(SIM_LAB)
    pytester.makeini("[pytest]\nhil_lab = labs/lab.yaml\n")
    tests = pytester.mkdir("tests")
    (tests / "test_lab.py").write_text("def test_lab(hil_lab):\n    assert hil_lab.name == 'test-lab'\n")
    monkeypatch.chdir(tests)
    pytester.runpytest().assert_outcomes(passed=1)


def test_hil_lab_environment_variable(
    pytester: pytest.Pytester, sim_lab: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIL_LAB", str(sim_lab))
    pytester.makepyfile("def test_lab(hil_lab):\n    assert hil_lab.name == 'test-lab'\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_command_line_wins_over_the_environment(
    pytester: pytest.Pytester, sim_lab: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIL_LAB", "missing.yaml")
    pytester.makepyfile("def test_lab(hil_lab):\n    assert hil_lab.name == 'test-lab'\n")
    pytester.runpytest(f"--hil-lab={sim_lab}").assert_outcomes(passed=1)


def test_missing_lab_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--hil-lab=nope.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: nope.yaml: lab file not found", "(lab file from --hil-lab)"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_bad_lab_file_is_a_usage_error_listing_every_mistake(pytester: pytest.Pytester) -> None:
    (pytester.path / "lab.yaml").write_text(
        "version: 1\nboards:\n  a:\n    resources:\n      power: {driver: nope}\n  b: {}\n"
    )
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--hil-lab=lab.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: lab.yaml:5: boards.a.resources.power.driver: unknown driver kind 'nope' (known kinds: *sim-power*)",
            "lab.yaml:6: boards.b: board has no resources",
        ]
    )
    assert "Traceback" not in result.stderr.str()


EACH = "import pytest\n\n@pytest.mark.hil(each=True)\ndef test_each(board):\n    pass\n"


def test_hil_board_limits_the_boards(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makepyfile(EACH)
    result = pytester.runpytest(f"--hil-lab={sim_lab}", "--hil-board=sim-b", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_each[[]sim-b[]] PASSED*"])


def test_hil_board_is_repeatable(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makepyfile(EACH)
    result = pytester.runpytest(f"--hil-lab={sim_lab}", "--hil-board=sim-b", "--hil-board=sim-a")
    result.assert_outcomes(passed=2)


def test_hil_board_naming_no_board_is_a_usage_error(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makepyfile(EACH)
    result = pytester.runpytest(f"--hil-lab={sim_lab}", "--hil-board=sim-z")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --hil-board sim-z: no such board in {sim_lab} (boards: sim-a, sim-b)"])


def test_hil_select_limits_the_boards(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makepyfile(EACH)
    result = pytester.runpytest(f"--hil-lab={sim_lab}", "--hil-select=arch=arm64", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_each[[]sim-a[]] PASSED*"])


def test_hil_select_with_a_syntax_error_is_a_usage_error(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makepyfile(EACH)
    result = pytester.runpytest(f"--hil-lab={sim_lab}", "--hil-select=arch==arm64")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --hil-select: selector 'arch==arm64': term 'arch==arm64' uses '=='; write key=value"]
    )


def test_a_selection_that_leaves_no_board_skips_with_the_reason(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makepyfile("def test_x(board):\n    pass\n")
    result = pytester.runpytest(f"--hil-lab={sim_lab}", "--hil-select=arch=x86", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs any board: no board left after --hil-board/--hil-select"])


def test_hil_strict_makes_an_unservable_test_an_error(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makepyfile(
        "import pytest\n\n@pytest.mark.hil('family=rpi4')\ndef test_x(board):\n    pass\n\ndef test_ok(board):\n    pass\n"
    )
    result = pytester.runpytest(f"--hil-lab={sim_lab}", "--hil-strict")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*no board can serve this test (--hil-strict): needs family=rpi4: no board has it (sim-a: family is 'simboard', not 'rpi4'*"
        ]
    )


def test_hil_log_dir_holds_each_tests_artifacts(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makepyfile("def test_x(board, hil_artifacts):\n    (hil_artifacts / 'note.txt').write_text(board.name)\n")
    pytester.runpytest(f"--hil-lab={sim_lab}", "--hil-log-dir=out").assert_outcomes(passed=1)
    (folder,) = (pytester.path / "out").iterdir()
    assert folder.name == folder_name_of("test_hil_log_dir_holds_each_tests_artifacts.py::test_x")
    assert (folder / "note.txt").read_text() == "sim-a"


def test_artifacts_default_to_hil_logs_in_the_base_temp(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makepyfile(
        "from pytest_hil.paths import folder_name_of\n"
        "def test_x(hil_artifacts, tmp_path_factory, request):\n"
        "    assert hil_artifacts == tmp_path_factory.getbasetemp() / 'hil-logs' / folder_name_of(request.node.nodeid)\n"
        "    assert hil_artifacts.is_dir()\n"
    )
    pytester.runpytest(f"--hil-lab={sim_lab}").assert_outcomes(passed=1)


def test_help_works_with_a_broken_lab(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--hil-lab=nope.yaml", "--help")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*--hil-lab=LAB*"])


@pytest.mark.parametrize("option", ["--hil-board=sim-a", "--hil-select=arch=arm64"])
def test_board_filters_without_a_lab_are_a_usage_error(pytester: pytest.Pytester, option: str) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest(option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: {option.split('=')[0]} needs a lab file: pass --hil-lab, set hil_lab or HIL_LAB"]
    )


def test_every_option_has_an_ini_key(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makeini(
        f"""
        [pytest]
        hil_lab = {sim_lab.name}
        hil_strict = true
        hil_board = sim-b
        hil_log_dir = ini-logs
        hil_lease_timeout = 5
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.hil("family=rpi4")
        def test_nobody_serves(board):
            pass

        def test_on_b(board, hil_artifacts):
            assert board.name == "sim-b"
            (hil_artifacts / "x.txt").write_text("x")
        """
    )
    result = pytester.runpytest("-W", "error::pytest.PytestConfigWarning")
    result.assert_outcomes(passed=1, errors=1)  # hil_strict: the unservable test is an error, not a skip
    assert list((pytester.path / "ini-logs").glob("*/x.txt"))
    assert "Unknown config option" not in result.stdout.str()


def test_o_sets_an_ini_key_without_a_warning(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makepyfile("import pytest\n\n@pytest.mark.hil('family=rpi4')\ndef test_x(board):\n    pass\n")
    result = pytester.runpytest(f"--hil-lab={sim_lab}", "-o", "hil_strict=true", "-W", "error")
    result.assert_outcomes(errors=1)


def test_without_a_lab_named_selectors_in_markers_are_inert(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.hil("@arm")
        def test_marked():
            pass

        def test_board(board):
            pass

        def test_plain():
            pass
        """
    )
    result = pytester.runpytest("-c", "/dev/null", "-rs")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["*no lab file: pass --hil-lab*"])


def test_the_space_form_of_hil_lab_outside_the_folder_is_a_clear_usage_error(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "labs"
    elsewhere.mkdir()
    (elsewhere / "lab.yaml").write_text(SIM_LAB)
    (elsewhere / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '-x'\n")
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess("--hil-lab", str(elsewhere / "lab.yaml"), ".")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*write --hil-lab={elsewhere / 'lab.yaml'} (with '='): pytest reads*"])
    fine = pytester.runpytest_subprocess(f"--hil-lab={elsewhere / 'lab.yaml'}", ".")
    fine.assert_outcomes(passed=1)


def test_strict_makes_an_unservable_marked_test_an_error_even_without_hil_fixtures(
    pytester: pytest.Pytester, sim_lab: Path
) -> None:
    pytester.makepyfile("import pytest\n\n@pytest.mark.hil('family=rpi4')\ndef test_x():\n    pass\n")
    result = pytester.runpytest(f"--hil-lab={sim_lab}", "--hil-strict")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no board can serve this test (--hil-strict): needs family=rpi4*"])
