"""The example suite users copy runs green on the simulated lab, with junit output."""

from __future__ import annotations

import lzma
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "conftest_examples"


def test_the_example_suite_passes_on_the_simulated_lab(pytester: pytest.Pytester) -> None:
    shutil.copytree(EXAMPLES, pytester.path / "examples")
    result = pytester.runpytest_subprocess(
        "--hil-lab=examples/lab.yaml", "examples", "-rs", "--junitxml=report.xml", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=18, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * needs family=simboard and resource jtag: no board has it*"])
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
    result = pytester.runpytest_subprocess("--hil-lab=qemu/lab.yaml", "qemu", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_the_qemu_example_without_a_kernel_skips_saying_what_to_do(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(EXAMPLES / "qemu", pytester.path / "qemu", ignore=shutil.ignore_patterns("build"))
    monkeypatch.setenv("HIL_QEMU_KERNEL", str(pytester.path / "no-such-kernel"))
    result = pytester.runpytest_subprocess("--hil-lab=qemu/lab.yaml", "qemu", "-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=4)
    result.stdout.fnmatch_lines(["*no kernel for the QEMU board at *no-such-kernel: run .ci/stand-ins*"])


def test_the_flash_once_recipe_flashes_each_board_once_and_boots_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(EXAMPLES, pytester.path / "examples")
    firmware = pytester.path / "fw-2.0.img.xz"
    firmware.write_bytes(lzma.compress(os.urandom(64 * 1024) + bytes(4 * 2**20)))
    monkeypatch.setattr("pytest_hil.progress.DELAY", 0.0)  # show the progress of this small image too
    result = pytester.runpytest_inprocess(
        "--hil-lab=examples/lab.yaml", "examples/flash_once", f"--firmware={firmware}",
        "--hil-log-dir=logs", "-p", "no:cacheprovider",
    )  # fmt: skip
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["flash sim-a storage: fw-2.0.img.xz ?###*? 100% 4 MiB of 4 MiB, *"])
    for board in ("sim-a", "sim-b"):
        session_log = (pytester.path / "logs" / "session" / f"{board}.console.log").read_text()
        assert session_log.count("[hil] flash fw-2.0.img.xz") == 1
        assert "verified: sha256 " in session_log and "MMC: booting fw-2.0.img" in session_log
    first_test_logs = list((pytester.path / "logs").glob("*test_the_board_booted_the_flashed_image*/sim-*.console.log"))
    assert len(first_test_logs) == 1 and "[hil] flash fw-2.0.img.xz" in first_test_logs[0].read_text()


def test_the_hardware_lab_example_passes_hil_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The commented rack of real hardware (not run here) is a valid lab file for every driver it names."""
    from pytest_hil.cli.main import main

    for variable in ("HIL_LEASE_URL", "MQTT_PASSWORD", "PDU_AUTH_KEY", "PDU_PRIV_KEY", "STRIP_PASSWORD", "RPI_ROOT_PW"):
        monkeypatch.delenv(variable, raising=False)
    assert main(["check", str(EXAMPLES / "lab-hardware.yaml")]) == 0
    assert capsys.readouterr().out.endswith("lab-hardware.yaml: OK (5 boards, 13 resources)\n")
    monkeypatch.setenv("HIL_LEASE_URL", f"sqlite://{tmp_path}/leases.db")  # not the example's lab-wide store
    assert main(["boards", str(EXAMPLES / "lab-hardware.yaml"), "--json"]) == 0
    listing = capsys.readouterr().out
    assert "placeholder" not in listing and "raspberry-lab" not in listing  # secrets, even defaults, masked


def test_the_bootloader_example_network_boots_through_u_boot(
    pytester: pytest.Pytester, qemu_kernel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """U-Boot in QEMU: prompt, environment, DHCP, and (as root: TFTP port 69) the kernel and initramfs
    fetched from this machine and booted to a shell, and an image flashed through the flasher OS."""
    if not Path("/usr/lib/u-boot/qemu-x86/u-boot.rom").is_file():
        if os.environ.get("CI"):
            pytest.fail("u-boot-qemu is missing (.ci/stand-ins installs it)")
        pytest.skip("needs u-boot-qemu")
    shutil.copytree(EXAMPLES / "bootloader", pytester.path / "bootloader", ignore=shutil.ignore_patterns("build"))
    monkeypatch.setenv("HIL_QEMU_KERNEL", str(qemu_kernel))
    result = pytester.runpytest_subprocess(
        "--hil-lab=bootloader/lab.yaml", "bootloader", "-p", "no:cacheprovider", "-rs"
    )
    if os.geteuid() == 0:
        result.assert_outcomes(passed=5)
    else:
        result.assert_outcomes(passed=3, skipped=2)
        result.stdout.fnmatch_lines(["*U-Boot only asks TFTP port 69: run as root*"])
