"""A real Linux board in QEMU: boot it, log in, run commands, power-cycle it."""

import pytest

from pytest_hil.interfaces import Console, Power, Shell

pytestmark = pytest.mark.hil("family=qemu-x86")


def test_kernel_and_userland(shell: Shell) -> None:
    assert shell.run("uname -m").stdout == "x86_64\n"
    assert "console=ttyS0" in shell.run("cat /proc/cmdline").stdout


def test_exit_codes_pass_through(shell: Shell) -> None:
    assert shell.run("true").exit_code == 0
    assert shell.run("ls /no/such/path").exit_code == 1
    assert shell.run("no-such-command").exit_code == 127


def test_state_persists_between_commands(shell: Shell) -> None:
    shell.run_check("cd /tmp && export GREETING=hello")
    assert shell.run('echo "$GREETING from $PWD"').stdout == "hello from /tmp\n"


def test_power_cycle_boots_again(power: Power, console: Console, shell: Shell) -> None:
    """`power` and `console` are the same `vm` resource: QMP is its switch, the serial port its console."""
    power.cycle(off_time=0.5)
    console.expect("login: ", timeout=60)
    shell.connect()
    assert float(shell.run("cut -d' ' -f1 /proc/uptime").stdout) < 60
