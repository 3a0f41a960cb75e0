"""Booting and talking to a board: resource fixtures are named as in the lab file."""

import re

import pytest

from pytest_hil.interfaces import Console, Power, Shell

pytestmark = pytest.mark.hil("family=simboard")  # every test here needs a simboard


def test_boots_to_a_login_prompt(power: Power, console: Console) -> None:
    power.cycle(off_time=0.2)
    console.expect("Starting kernel")
    console.expect("login: ")
    assert "Linux version" in console.before


def test_runs_commands_with_exit_codes(shell: Shell) -> None:
    """`shell` logs in with the lab file's `shell:` settings; output comes without echo or prompt."""
    assert shell.run("echo $((6 * 7))").stdout == "42\n"
    assert shell.run("false").exit_code == 1
    shell.run_check("cd /tmp")  # raises, with the output, if the exit code is not 0
    assert shell.run("pwd").stdout == "/tmp\n"  # the shell keeps its state between commands


def test_power_off_silences_the_console(power: Power, console: Console) -> None:
    power.off()
    assert power.state() is False
    console.read_nonblocking(65536, timeout=0.2)  # whatever was on the wire when power went
    assert console.read_nonblocking(timeout=0.5) == ""
    power.on()
    console.expect("login: ")


@pytest.mark.hil(board="sim-b")
def test_power_management_log(power: Power, pmic: Console) -> None:
    """A resource only one board has (`pmic`) is a fixture too; asking for it picks that board."""
    power.cycle(off_time=0.1)
    pmic.expect(re.escape("[pmic] power off"))
    pmic.expect(re.escape("[pmic] power on"))
