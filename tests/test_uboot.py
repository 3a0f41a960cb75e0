"""uboot against a real U-Boot (Debian's u-boot-qemu) in QEMU: the board's console and power named by
resource references, the prompt, commands and their status, the environment, DHCP on QEMU's user
network, leaving U-Boot, and a U-Boot that never shows its prompt."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from hil_drivers.uboot import Uboot
from pytest_hil.board import Board
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import Bootloader, Console

ROM = Path("/usr/lib/u-boot/qemu-x86/u-boot.rom")


@pytest.fixture
def uboot_rom() -> Path:
    if not ROM.is_file() or shutil.which("qemu-system-i386") is None:
        reason = "needs Debian's u-boot-qemu and qemu-system-x86 (.ci/stand-ins installs them)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return ROM


def uboot_board(make_board: Callable[[str], Board], rom: Path, uboot: str = "") -> tuple[Uboot, Board]:
    board = make_board(
        f"""
        vm: {{driver: qemu, arch: i386, bios: {rom}, memory: 256M, network: true, nic_model: e1000, timeout: 30}}
        boot: {{driver: uboot, console: vm, power: vm{uboot}}}
        """
    )
    driver = board.get(Bootloader, "boot")
    assert isinstance(driver, Uboot)
    return driver, board


def test_stops_autoboot_runs_commands_and_reads_their_status(
    make_board: Callable[[str], Board], uboot_rom: Path
) -> None:
    uboot, board = uboot_board(make_board, uboot_rom)
    assert uboot.console is board.resource("vm") and uboot.power is board.resource("vm")  # one QEMU
    uboot.reboot_to_console()
    assert uboot.run("version").startswith("U-Boot 20")
    assert uboot.run_check("echo hello; true") == "hello"
    with pytest.raises(DriverError, match=r"U-Boot command 'itest 1 == 2' failed \(\$\? = 1\)"):
        uboot.run_check("itest 1 == 2")
    log = board.logs.logs["vm"].recent_lines(40)
    assert "=> version" in log and "[hil] uboot: reboot to the prompt" in log


def test_the_environment_and_dhcp(make_board: Callable[[str], Board], uboot_rom: Path) -> None:
    uboot, _ = uboot_board(make_board, uboot_rom)
    uboot.reboot_to_console()
    assert uboot.env_get("hil_test") is None
    uboot.env_set("hil_test", "two words")
    assert uboot.env_get("hil_test") == "two words"
    uboot.env_set_many({"hil_a": "1", "hil_test": None})
    assert (uboot.env_get("hil_a"), uboot.env_get("hil_test")) == ("1", None)
    info = uboot.dhcp(timeout=30)
    assert (info.ip, info.cidr, info.gateway) == ("10.0.2.15", "10.0.2.15/24", "10.0.2.2")
    assert uboot.env_get("autoload") is None  # restored: it was not set
    with pytest.raises(ValueError, match="cannot be typed safely"):
        uboot.env_set("bootcmd", "echo 'x'")


def test_boot_leaves_u_boot_and_a_reset_comes_back(make_board: Callable[[str], Board], uboot_rom: Path) -> None:
    uboot, board = uboot_board(make_board, uboot_rom)
    uboot.reboot_to_console()
    uboot.boot("reset")  # what leaving looks like: U-Boot starts over on its own
    board.get(Console, "vm").expect_exact("Hit any key to stop autoboot", timeout=30)
    uboot.reboot_to_console()
    assert "U-Boot" in uboot.run("version")


def test_a_u_boot_that_never_shows_its_prompt_names_the_last_console_lines(
    make_board: Callable[[str], Board], uboot_rom: Path
) -> None:
    uboot, _ = uboot_board(make_board, uboot_rom, ", prompt: 'hil> ', boot_timeout: 20")
    with pytest.raises(DriverError) as failure:
        uboot.reboot_to_console()
    text = str(failure.value)
    assert "U-Boot did not stop at its prompt 'hil> '" in text and "the console's last lines:" in text
    assert "=>" in text  # what it showed instead


def test_hil_uboot_runs_one_command_or_hands_over_the_prompt(
    write_lab: Callable[..., Path], uboot_rom: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import sys

    import pexpect

    from pytest_hil.cli.main import main

    monkeypatch.setenv("HIL_LEASE_URL", f"sqlite://{tmp_path}/leases.db")
    lab = write_lab(
        "version: 1\nboards:\n  b:\n    resources:\n"
        f"      vm: {{driver: qemu, arch: i386, bios: {uboot_rom}, memory: 256M, timeout: 30}}\n"
        "      boot: {driver: uboot, console: vm, power: vm}\n"
    )
    assert main(["--lab", str(lab), "uboot", "b", "--", "echo", "from", "u-boot"]) == 0
    assert capfd.readouterr().out == "from u-boot\n"
    assert main(["--lab", str(lab), "uboot", "b", "--", "itest", "1", "==", "2"]) == 1
    child = pexpect.spawn(sys.executable, ["-m", "pytest_hil.cli.main", "--lab", str(lab), "uboot", "b"],
                          encoding="utf-8", timeout=60)  # fmt: skip
    child.expect_exact("b at its U-Boot prompt; Ctrl-] then q leaves")
    child.sendline("setenv v hil; echo got-$v")  # the output, not the echo of what was typed
    child.expect_exact("got-hil")
    child.send("\x1dq")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
