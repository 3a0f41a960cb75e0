"""A third-party driver package, really installed, is usable from a lab file with no change to the core."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import dedent

DEMO_PACKAGE = Path(__file__).parent / "data" / "hil-demo-driver"


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where pip installed the demo driver package, entry points and all."""
    target = tmp_path_factory.mktemp("demo-site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(DEMO_PACKAGE)],
        check=True,
    )  # fmt: skip
    return target


@pytest.fixture
def with_demo(demo_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(demo_site), os.environ.get("PYTHONPATH", "")]))
    return demo_site


def test_hil_drivers_lists_the_installed_package(with_demo: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest_hil.cli.main", "drivers"], capture_output=True, text=True, check=True
    )
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["KIND", "INTERFACES", "PACKAGE"]
    assert ["demo-relay", "power", "hil-demo-driver", "0.3.0"] in [line.split() for line in lines]
    assert ["sim-power", "power", "pytest-hil", "0.1.0"] in [line.split() for line in lines]


def test_the_packages_driver_checks_its_options_in_a_lab(with_demo: Path, tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text("version: 1\nboards:\n  b:\n    resources:\n      power: {driver: demo-relay, chanel: 2}\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest_hil.cli.main", "check", str(lab)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{lab}:5: boards.b.resources.power.chanel: unknown option (known: channel, journal)",
        f"{lab}:5: boards.b.resources.power: missing required option 'journal' (path)",
    ]


def test_the_packages_driver_serves_tests_and_closes_in_reverse_order(
    with_demo: Path, pytester: pytest.Pytester
) -> None:
    (pytester.path / "lab.yaml").write_text(
        dedent(
            """
            version: 1
            boards:
              bench:
                resources:
                  mains: {driver: demo-relay, journal: journal.txt, channel: 1}
                  usb_power: {driver: demo-relay, journal: journal.txt, channel: 2}
                  spare: {driver: demo-relay, journal: journal.txt, channel: 3}
            """
        )
    )
    pytester.makepyfile(
        dedent(
            """
            def test_mains(mains):
                mains.on()
                assert mains.state() is True

            def test_usb_fails(usb_power, mains):
                usb_power.off()
                raise AssertionError("drivers are still closed")
            """
        )
    )
    pytester.runpytest_subprocess("--hil-lab=lab.yaml").assert_outcomes(passed=1, failed=1)
    assert (pytester.path / "journal.txt").read_text().splitlines() == [
        "open bench.mains ch1",
        "on bench.mains ch1",
        "open bench.usb_power ch2",
        "off bench.usb_power ch2",
        "close bench.usb_power ch2",
        "close bench.mains ch1",
    ]


def test_a_driver_that_cannot_start_fails_the_test_with_one_line(with_demo: Path, pytester: pytest.Pytester) -> None:
    (pytester.path / "lab.yaml").write_text(
        "version: 1\nboards:\n  bench:\n    resources:\n      mains: {driver: demo-relay, journal: no/such/dir/j.txt}\n"
    )
    pytester.makepyfile("def test_x(mains):\n    pass\n")
    result = pytester.runpytest_subprocess("--hil-lab=lab.yaml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["board bench, resource mains (demo-relay): could not start: [[]Errno 2[]] No such file or directory: *"]
    )
    assert "Traceback" not in result.stdout.str()
    assert "direct cause" not in result.stdout.str()
