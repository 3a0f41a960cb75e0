"""The `hil` marker and inferred needs: which board serves which test, and why a test skips."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import dedent


def run(pytester: pytest.Pytester, lab: Path, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(dedent(source))
    return pytester.runpytest(f"--hil-lab={lab}", "-rs", "-v", *args)


def test_positional_selector_picks_a_matching_board(pytester: pytest.Pytester, sim_lab: Path) -> None:
    result = run(
        pytester,
        sim_lab,
        """
        import pytest

        @pytest.mark.hil("arch=riscv64")
        def test_x(board):
            assert board.name == "sim-b"
        """,
    )
    result.assert_outcomes(passed=1)


def test_keyword_selector_works_like_the_positional_one(pytester: pytest.Pytester, sim_lab: Path) -> None:
    result = run(
        pytester,
        sim_lab,
        """
        import pytest

        @pytest.mark.hil(selector="display")
        def test_x(board):
            assert board.name == "sim-a"
        """,
    )
    result.assert_outcomes(passed=1)


def test_module_and_function_markers_combine(pytester: pytest.Pytester, sim_lab: Path) -> None:
    result = run(
        pytester,
        sim_lab,
        """
        import pytest

        pytestmark = pytest.mark.hil("family=simboard")

        @pytest.mark.hil("!display")
        def test_x(board):
            assert board.name == "sim-b"

        @pytest.mark.hil("arch=x86")
        def test_none(board):
            pass
        """,
    )
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*needs arch=x86,family=simboard: no board has it (sim-a: arch is *arm64*, not *x86*"])


def test_board_by_name(pytester: pytest.Pytester, sim_lab: Path) -> None:
    result = run(
        pytester,
        sim_lab,
        """
        import pytest

        @pytest.mark.hil(board="sim-b")
        def test_x(board):
            assert board.name == "sim-b"
            assert board.labels["arch"] == "riscv64"
        """,
    )
    result.assert_outcomes(passed=1)


def test_board_that_the_lab_lacks_is_a_usage_error_naming_the_test(pytester: pytest.Pytester, sim_lab: Path) -> None:
    result = run(pytester, sim_lab, "import pytest\n\n@pytest.mark.hil(board='sim-z')\ndef test_x(board):\n    pass\n")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: test_board_that*.py::test_x: hil marker names board 'sim-z', which {sim_lab} lacks"]
    )


def test_each_runs_once_per_matching_board_with_its_name_in_the_id(pytester: pytest.Pytester, sim_lab: Path) -> None:
    result = run(
        pytester,
        sim_lab,
        """
        import pytest

        @pytest.mark.hil("family=simboard", each=True)
        def test_x(board, request):
            assert request.node.name == f"test_x[{board.name}]"

        @pytest.mark.hil("family=simboard", each=True)
        @pytest.mark.parametrize("n", [1, 2])
        def test_y(board, n):
            pass
        """,
    )
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(
        [
            "*::test_x[[]sim-a[]] PASSED*",
            "*::test_x[[]sim-b[]] PASSED*",
            "*::test_y[[]sim-a-1[]] PASSED*",
        ]
    )


def test_each_with_no_matching_board_skips_once_with_the_reason(pytester: pytest.Pytester, sim_lab: Path) -> None:
    result = run(
        pytester, sim_lab, "import pytest\n\n@pytest.mark.hil('family=rpi4', each=True)\ndef test_x(board):\n    pass\n"
    )
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs family=rpi4: no board has it*"])


def test_roles_lease_distinct_boards(pytester: pytest.Pytester, sim_lab: Path) -> None:
    result = run(
        pytester,
        sim_lab,
        """
        import pytest

        @pytest.mark.hil(roles={"dut": "arch=riscv64", "peer": "family=simboard"})
        def test_x(boards, board):
            assert boards["dut"].name == "sim-b"
            assert boards["peer"].name == "sim-a"
            assert board is boards["dut"]

        @pytest.mark.hil(roles={"dut": "family=simboard", "peer": "family=simboard", "third": "family=simboard"})
        def test_too_many(boards):
            pass
        """,
    )
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*roles dut, peer, third need distinct boards: too few match*"])


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("hil(bord='sim-a')", "hil marker: unknown keyword bord (known: selector, board, each, roles)"),
        ("hil('family==x')", "hil marker selector: selector 'family==x': term 'family==x' uses '=='; write key=value"),
        ("hil('a', 'b')", "hil marker takes one selector string, got 2 positional arguments"),
        ("hil(each='yes')", "hil marker: each must be True or False, not 'yes'"),
        ("hil(roles=['a'])", "hil marker: roles must be a non-empty dict of role name -> selector string"),
        ("hil(roles={'a': 'x'}, each=True)", "hil marker: each=True cannot be combined with roles"),
    ],
)
def test_bad_markers_are_usage_errors_naming_the_test(
    pytester: pytest.Pytester, sim_lab: Path, marker: str, message: str
) -> None:
    result = run(pytester, sim_lab, f"import pytest\n\n@pytest.mark.{marker}\ndef test_x():\n    pass\n")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: test_bad_markers*.py::test_x: {message}"])


def test_the_marker_is_registered_for_strict_markers(pytester: pytest.Pytester, sim_lab: Path) -> None:
    result = run(
        pytester, sim_lab, "import pytest\n\n@pytest.mark.hil()\ndef test_x(board):\n    pass\n", "--strict-markers"
    )
    result.assert_outcomes(passed=1)


def test_a_resource_fixture_is_a_need(pytester: pytest.Pytester, sim_lab: Path) -> None:
    result = run(pytester, sim_lab, "def test_x(pmic, board):\n    assert board.name == 'sim-b'\n")
    result.assert_outcomes(passed=1)


def test_a_missing_resource_skips_naming_it(pytester: pytest.Pytester, sim_lab: Path) -> None:
    result = run(pytester, sim_lab, "import pytest\n\n@pytest.mark.hil()\ndef test_x(can0):\n    pass\n")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*needs resource can0: no board has it (sim-a: no resource can0; sim-b: no resource can0)"]
    )


def test_resource_and_selector_needs_combine(pytester: pytest.Pytester, sim_lab: Path) -> None:
    result = run(pytester, sim_lab, "import pytest\n\n@pytest.mark.hil('display')\ndef test_x(pmic):\n    pass\n")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*needs display and resource pmic: no board has it (sim-a: no resource pmic; sim-b: no label display)"]
    )


def test_an_interface_fixture_finds_the_boards_one_resource_of_that_interface(pytester: pytest.Pytester) -> None:
    lab = pytester.path / "lab.yaml"
    lab.write_text(
        "version: 1\nboards:\n  q:\n    resources:\n      vm_power: {driver: sim-power}\n      uart0: {driver: sim-console}\n"
    )
    result = run(
        pytester,
        lab,
        """
        def test_x(power, console, board):
            assert power is board.vm_power
            assert console is board["uart0"]
        """,
    )
    result.assert_outcomes(passed=1)


def test_an_interface_fixture_is_ambiguous_with_two_unnamed_candidates(pytester: pytest.Pytester) -> None:
    lab = pytester.path / "lab.yaml"
    lab.write_text(
        "version: 1\nboards:\n  q:\n    resources:\n      uart0: {driver: sim-console}\n      uart1: {driver: sim-console, uart: 1}\n"
    )
    result = run(pytester, lab, "def test_x(console):\n    pass\n")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*needs resource console: no board has it (q: 2 console resources (uart0, uart1), none called console)"]
    )


def test_a_users_own_fixture_of_a_resource_name_is_not_a_need(pytester: pytest.Pytester, sim_lab: Path) -> None:
    pytester.makeconftest("import pytest\n\n@pytest.fixture\ndef console():\n    return 'mine'\n")
    result = run(pytester, sim_lab, "def test_x(console):\n    assert console == 'mine'\n")
    result.assert_outcomes(passed=1)
    assert "hil.board" not in result.stdout.str()


def test_parametrize_arguments_are_not_taken_for_resources(pytester: pytest.Pytester, sim_lab: Path) -> None:
    result = run(
        pytester,
        sim_lab,
        """
        import pytest

        @pytest.mark.hil()
        @pytest.mark.parametrize("speed", [1, 2])
        def test_x(board, speed):
            pass
        """,
    )
    result.assert_outcomes(passed=2)


def test_board_choice_is_deterministic_in_lab_order(pytester: pytest.Pytester, sim_lab: Path) -> None:
    result = run(pytester, sim_lab, "def test_x(board):\n    assert board.name == 'sim-a'\n")
    result.assert_outcomes(passed=1)


def test_a_board_serves_one_test_at_a_time(pytester: pytest.Pytester, sim_lab: Path) -> None:
    result = run(
        pytester,
        sim_lab,
        "def test_x(board):\n    assert board.lock.locked()\n\ndef test_after(board):\n    assert board.lock.locked()\n",
    )
    result.assert_outcomes(passed=2)


def test_resource_fixtures_drive_the_sim_board(pytester: pytest.Pytester, sim_lab: Path) -> None:
    result = run(
        pytester,
        sim_lab,
        """
        def test_boot(power, console):
            power.on()
            console.expect("login: ")
            console.sendline("root")
            console.expect("# ")
            console.sendline("echo $((40 + 2))")
            console.expect("42")
            power.off()
            assert power.state() is False
        """,
    )
    result.assert_outcomes(passed=1)
