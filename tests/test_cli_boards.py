"""`hil run` through the simulated board's shell, and `hil console` on a pty driven like a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tty
from pathlib import Path

import pexpect
import pytest

from tests.conftest import dedent

HIL = [sys.executable, "-m", "pytest_hil.cli.main"]
SIM_LAB = """
version: 1
boards:
  sim-a:
    resources:
      power: {driver: sim-power, password: "${SIM_PW:-pw}", boot_time: 0.1}
      console: {driver: sim-console, timeout: 5}
    shell: {username: root, password: "${SIM_PW:-pw}", prompt: 'root@sim-a:\\S*# ', boot_timeout: 5}
"""


@pytest.fixture
def sim_lab(tmp_path: Path) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(dedent(SIM_LAB))
    return path


def hil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HIL, *args], capture_output=True, text=True, timeout=60)


def test_run_prints_the_output_and_passes_the_exit_code_through(sim_lab: Path) -> None:
    result = hil("--lab", str(sim_lab), "run", "sim-a", "--", "sh", "-c", "echo from the board; exit 3")
    assert result.stdout == "from the board\n"
    assert result.returncode == 3


def test_run_with_a_refused_login_fails_with_255_saying_why(sim_lab: Path) -> None:
    result = subprocess.run([*HIL, "--lab", str(sim_lab), "run", "sim-a", "--", "true"], capture_output=True, text=True,
                            env={**os.environ, "SIM_PW": "right"}, timeout=60)  # fmt: skip
    assert result.returncode == 0
    sim_lab.write_text(sim_lab.read_text().replace('password: "${SIM_PW:-pw}", prompt', "password: wrong, prompt"))
    result = hil("--lab", str(sim_lab), "run", "sim-a", "--", "true")
    assert result.returncode == 255
    assert "login as root refused" in result.stderr


def test_run_names_an_unknown_board(sim_lab: Path) -> None:
    result = hil("--lab", str(sim_lab), "run", "sim-z", "--", "true")
    assert result.returncode == 1
    assert result.stderr == f"hil: no board 'sim-z' in {sim_lab} (boards: sim-a)\n"


def test_console_is_an_interactive_terminal_left_with_ctrl_bracket_q(tmp_path: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(master)
    (tmp_path / "lab.yaml").write_text(
        f"version: 1\nboards:\n  dut:\n    resources:\n      console: {{driver: serial, port: {os.ttyname(slave)}}}\n"
    )
    terminal = pexpect.spawn(HIL[0], [*HIL[1:], "--lab", str(tmp_path / "lab.yaml"), "console", "dut", "--log-dir", str(tmp_path / "logs")],
                             timeout=10, cwd=str(tmp_path))  # fmt: skip
    try:
        terminal.expect("Ctrl-] then q leaves")
        time.sleep(0.3)
        os.write(master, b"board says hello\r\n")
        terminal.expect("board says hello")
        terminal.send("typed keys\r")
        received = b""
        deadline = time.monotonic() + 5
        while b"\r" not in received and time.monotonic() < deadline:
            received += os.read(master, 100)
        assert received == b"typed keys\r"
        terminal.send("\x1d\x1d")  # Ctrl-] twice sends one Ctrl-]
        assert os.read(master, 10) == b"\x1d"
        terminal.send("\x1dq")
        terminal.expect(pexpect.EOF)
    finally:
        terminal.close()
        os.close(master)
        os.close(slave)
    assert terminal.exitstatus == 0
    assert "board says hello" in (tmp_path / "logs" / "session" / "dut.console.log").read_text()


def test_power_switches_and_reports_the_state(tmp_path: Path) -> None:
    from tests.fake_switches import serving

    with serving("tasmota") as (switch, url):
        (tmp_path / "lab.yaml").write_text(
            f"version: 1\nboards:\n  b:\n    resources:\n      power: {{driver: tasmota, url: '{url}'}}\n"
        )
        lab = str(tmp_path / "lab.yaml")
        on = hil("--lab", lab, "power", "b", "on")
        assert (on.stdout, on.returncode, switch.on) == ("b: on\n", 0, True)
        assert hil("--lab", lab, "power", "b", "status").stdout == "b: on\n"
        cycled = hil("--lab", lab, "power", "b", "cycle", "--off-time", "0.1")
        assert (cycled.stdout, switch.requests[-2:]) == ("b: on\n", ["GET /cm?cmnd=Power1+On", "GET /cm?cmnd=Power1"])
        assert hil("--lab", lab, "power", "b", "off").stdout == "b: off\n"
        switch.fail_next = 99
        failed = hil("--lab", lab, "power", "b", "on")
        assert failed.returncode == 1
        assert failed.stderr.startswith(f"hil: board b, resource power: GET {url}/cm: the switch answered 500")


def test_hil_run_keeps_arguments_apart_and_carries_the_exit_status(sim_lab: Path) -> None:
    started = time.monotonic()
    result = hil("--lab", str(sim_lab), "run", "sim-a", "--", "sh", "-c", "echo out; exit 5")
    assert (result.returncode, result.stdout) == (5, "out\n"), result.stderr
    assert time.monotonic() - started < 15
    result = hil("--lab", str(sim_lab), "run", "sim-a", "--", "echo one | tr o O")
    assert (result.returncode, result.stdout) == (0, "One\n"), result.stderr


def test_a_virtual_board_says_it_lives_only_inside_one_command(sim_lab: Path) -> None:
    on = hil("--lab", str(sim_lab), "power", "sim-a", "on")
    assert on.returncode == 0 and on.stdout == "sim-a: on\n"
    assert "hil: note: sim-a is a virtual board (sim-power): it runs inside the hil command that uses it" in on.stderr
    status = hil("--lab", str(sim_lab), "power", "sim-a", "status")
    assert status.stdout == "sim-a: off\n" and "is off again once that command ends" in status.stderr


def test_console_on_a_virtual_board_powers_it_for_the_session(sim_lab: Path, tmp_path: Path) -> None:
    terminal = pexpect.spawn(HIL[0], [*HIL[1:], "--lab", str(sim_lab), "console", "sim-a", "--log-dir", str(tmp_path / "logs")],
                             timeout=20, cwd=str(tmp_path))  # fmt: skip
    try:
        terminal.expect("is a virtual board")
        terminal.expect("Ctrl-] then q leaves")
        terminal.expect("sim-a login: ")  # it booted: a live console, not a dead one
        terminal.send("\x1dq")
        terminal.expect(pexpect.EOF)
    finally:
        terminal.close(force=True)
