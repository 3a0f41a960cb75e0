"""Booting and talking to a board: resource fixtures are named as in the lab file."""

import re

import pytest

pytestmark = pytest.mark.hil("family=simboard")  # every test here needs a simboard


def test_boots_to_a_login_prompt(power, console):
    power.cycle(off_time=0.2)
    console.expect("Starting kernel")
    console.expect("login: ")
    assert "Linux version" in console.before


def test_runs_commands_with_exit_codes(login):
    login.sendline("echo $((6 * 7)); false; echo status=$?")
    login.expect(r"status=(\d+)")
    assert "42" in login.before
    assert login.match.group(1) == "1"


def test_power_off_silences_the_console(power, console):
    power.off()
    assert power.state() is False
    console.read_nonblocking(65536, timeout=0.2)  # whatever was on the wire when power went
    assert console.read_nonblocking(timeout=0.5) == ""
    power.on()
    console.expect("login: ")


@pytest.mark.hil(board="sim-b")
def test_power_management_log(power, pmic):
    """A resource only one board has (`pmic`) is a fixture too; asking for it picks that board."""
    power.cycle(off_time=0.1)
    pmic.expect(re.escape("[pmic] power off"))
    pmic.expect(re.escape("[pmic] power on"))
