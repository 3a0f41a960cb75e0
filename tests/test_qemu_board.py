"""The QEMU board: a real Debian kernel and busybox userland, logged in through the shell."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hil_drivers.qemu.machine import Qemu
from pytest_hil.board import Board
from pytest_hil.console.log import BoardLogs
from pytest_hil.console.shell import ConsoleShell, console_shell
from pytest_hil.errors import CommandTimeout, DriverError, DriverUnavailable, LabError, ShellLoggedOut
from pytest_hil.lab import load_lab
from tests.conftest import QEMU_PASSWORD, qemu_lab_text


@pytest.fixture(scope="module")
def qemu_board(qemu_kernel: Path, qemu_initramfs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    folder = tmp_path_factory.mktemp("qemu-lab")
    (folder / "lab.yaml").write_text(qemu_lab_text(qemu_kernel, qemu_initramfs))
    lab = load_lab(folder / "lab.yaml")
    board = Board(lab.boards["qemu-01"], folder, BoardLogs("qemu-01", folder / "logs", lab.secrets))
    yield board
    board.close()


@pytest.fixture(scope="module")
def shell(qemu_board: Board) -> ConsoleShell:
    shell = console_shell(qemu_board)
    shell.connect()
    return shell


@pytest.fixture
def vm(qemu_board: Board) -> Qemu:
    vm = qemu_board.vm
    assert isinstance(vm, Qemu)
    return vm


def test_boots_and_logs_in(shell: ConsoleShell, vm: Qemu) -> None:
    assert vm.state() is True
    assert shell.run("id -un").stdout == "root\n"


def test_runs_real_commands(shell: ConsoleShell) -> None:
    assert shell.run("uname -m").stdout == "x86_64\n"
    assert "-cloud-amd64" in shell.run("uname -r").stdout
    assert "console=ttyS0" in shell.run("cat /proc/cmdline").stdout
    assert shell.run("grep -c ^processor /proc/cpuinfo").stdout.strip() == "1"


@pytest.mark.parametrize(("command", "code"), [("true", 0), ("false", 1), ("definitely-not-a-command", 127)])
def test_exit_codes(shell: ConsoleShell, command: str, code: int) -> None:
    assert shell.run(command).exit_code == code


def test_a_megabyte_of_output(shell: ConsoleShell) -> None:
    result = shell.run("seq 1 170000", timeout=120)
    lines = result.stdout.splitlines()
    assert len(result.stdout) > 1_000_000
    assert lines[:2] == ["1", "2"] and lines[-1] == "170000" and len(lines) == 170000


def test_a_command_that_outlives_its_timeout_is_interrupted(shell: ConsoleShell) -> None:
    with pytest.raises(CommandTimeout, match=r"'sleep 30' did not finish within 1 s and was interrupted"):
        shell.run("sleep 30", timeout=1)
    assert shell.run("echo still here").stdout == "still here\n"


def test_a_command_longer_than_a_terminal_line_runs(shell: ConsoleShell) -> None:
    result = shell.run("printf '%s' '" + "y" * 9000 + "' | wc -c; echo '\x03' | wc -c")
    assert result.stdout.split() == ["9000", "2"] and result.exit_code == 0


def test_a_command_that_ends_the_shell_logs_in_again_at_once(shell: ConsoleShell) -> None:
    started = time.monotonic()
    with pytest.raises(ShellLoggedOut):
        shell.run("exit")
    assert time.monotonic() - started < 10
    assert shell.run("echo back").stdout == "back\n"


def test_closing_the_shell_turns_the_guests_echo_back_on(shell: ConsoleShell) -> None:
    """busybox's stty and sh restore what the shell changed (echo, the kernel's console log level)."""
    echo = re.compile(r"(?:^|\s)(-?echo)(?:\s|$)")
    shell.run("true")
    assert echo.findall(shell.run("stty -a").stdout) == ["-echo"]
    before = shell.run("echo $_hl").stdout.strip()  # the level the shell found
    assert shell.run("read level rest < /proc/sys/kernel/printk; echo $level").stdout.strip() == "1"
    shell.close()
    shell.console.sendline("stty -a; cat /proc/sys/kernel/printk; echo HIL-FLAGS-DONE")
    shell.console.expect(r"\nHIL-FLAGS-DONE", timeout=10)
    assert set(echo.findall(shell.console.before)) == {"echo"}  # the command came back echoed, and stty says so
    assert shell.console.before.split("\n")[-1].split()[0] == before
    assert shell.run("true").exit_code == 0  # and the shell goes on, echo off again


def test_the_password_never_reaches_the_log(shell: ConsoleShell, qemu_board: Board) -> None:
    shell.run(f"echo {QEMU_PASSWORD}")
    session_log = qemu_board.logs.logs["vm"].session
    assert session_log is not None
    assert QEMU_PASSWORD not in session_log.path.read_text()


def test_power_off_ends_the_process_and_power_on_boots_again(shell: ConsoleShell, vm: Qemu) -> None:
    shell.run_check("echo before > /tmp/marker")
    process = vm.process
    vm.off()
    assert vm.state() is False and process is not None and process.poll() is not None
    vm.on()
    vm.expect("login: ", timeout=60)
    shell.connect()
    assert shell.run("cat /tmp/marker").exit_code == 1  # a fresh boot: the ramdisk is new
    assert float(shell.run("cut -d' ' -f1 /proc/uptime").stdout) < 60


def test_reset_reboots_with_power_kept(shell: ConsoleShell, vm: Qemu) -> None:
    process = vm.process
    vm.reset()
    vm.expect("login: ", timeout=60)
    assert vm.process is process and vm.state() is True
    shell.connect()
    assert shell.run("echo after reset").stdout == "after reset\n"


def test_a_reset_inside_a_test_is_followed_by_a_new_login(shell: ConsoleShell, vm: Qemu) -> None:
    shell.run_check("echo before > /tmp/marker")
    vm.reset()  # no waiting, no connect: the shell notices the reset by itself
    result = shell.run("cat /tmp/marker; echo after reset")
    assert result.stdout.endswith("after reset\n") and "before" not in result.stdout


def test_a_missing_kernel_names_board_resource_and_setting(tmp_path: Path, qemu_kernel: Path) -> None:
    (tmp_path / "lab.yaml").write_text(qemu_lab_text(tmp_path / "vmlinuz-missing", tmp_path / "initrd"))
    lab = load_lab(tmp_path / "lab.yaml")
    board = Board(lab.boards["qemu-01"], tmp_path)
    with pytest.raises(
        DriverError, match=rf"board qemu-01, resource vm: kernel: {tmp_path}/vmlinuz-missing does not exist"
    ):
        board.resource("vm")


def test_a_missing_qemu_binary_names_it_and_its_package(tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").write_text(
        "version: 1\nboards:\n  r:\n    resources:\n      vm: {driver: qemu, arch: riscv64, binary: qemu-system-riscv64-not-here}\n"
    )
    lab = load_lab(tmp_path / "lab.yaml")
    with pytest.raises(
        DriverUnavailable,
        match=r"qemu-system-riscv64-not-here is not installed \(Debian: apt-get install qemu-system-misc\)",
    ):
        Board(lab.boards["r"], tmp_path).resource("vm")


def test_a_second_board_boots_in_seconds_with_a_published_port(
    qemu_kernel: Path, qemu_initramfs: Path, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    extra = f", hostfwd: ['tcp:127.0.0.1:{free_port}-:22']"
    (tmp_path / "lab.yaml").write_text(qemu_lab_text(qemu_kernel, qemu_initramfs, name="qemu-02", extra=extra))
    lab = load_lab(tmp_path / "lab.yaml")
    board = Board(lab.boards["qemu-02"], tmp_path)
    try:
        started = time.monotonic()
        shell = console_shell(board)
        shell.connect()
        assert time.monotonic() - started < 30
        assert shell.run("hostname").stdout == "hil-qemu\n"
        vm = board.vm
        assert isinstance(vm, Qemu)
        assert vm.forwards == {22: ("127.0.0.1", free_port)}
        with socket.create_connection(vm.forwards[22], timeout=5):
            pass  # QEMU listens for the guest's port 22 on the host
    finally:
        board.close()


def test_the_plugin_serves_power_console_and_shell_from_one_vm(
    pytester: pytest.Pytester, qemu_kernel: Path, qemu_initramfs: Path
) -> None:
    (pytester.path / "lab.yaml").write_text(qemu_lab_text(qemu_kernel, qemu_initramfs))
    pytester.makepyfile(
        """
        def test_boot(power, console, board):
            assert power is console is board.vm
            power.on()
            console.expect("login: ", timeout=60)

        def test_shell(shell):
            assert shell.run("uname -s").stdout == "Linux\\n"
        """
    )
    pytester.runpytest("--hil-lab=lab.yaml").assert_outcomes(passed=2)


def test_a_missing_qemu_binary_skips_with_the_package_to_install(pytester: pytest.Pytester) -> None:
    (pytester.path / "lab.yaml").write_text(
        "version: 1\nboards:\n  r:\n    resources:\n      vm: {driver: qemu, arch: riscv64, binary: qemu-system-riscv64-not-here}\n"
    )
    pytester.makepyfile("def test_boot(power):\n    pass\n\ndef test_shell(shell):\n    pass\n")
    result = pytester.runpytest("--hil-lab=lab.yaml", "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED * board r, resource vm: qemu-system-riscv64-not-here is not installed (Debian: apt-get install qemu-system-misc)"
        ]
        * 2
    )


def test_a_malformed_port_forward_is_a_lab_error(tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").write_text(
        "version: 1\nboards:\n  q:\n    resources:\n      vm: {driver: qemu, hostfwd: ['2222:22']}\n"
    )
    with pytest.raises(
        LabError, match=r"lab.yaml:5: boards.q.resources.vm.hostfwd: '2222:22' is not like tcp:127.0.0.1:2222-:22"
    ):
        load_lab(tmp_path / "lab.yaml")
