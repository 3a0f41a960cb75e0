"""The simulated board: boot, login, real commands with real exit codes, power-off silences it."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_hil.board import Board
from pytest_hil.console import StreamConsole
from pytest_hil.errors import ConsoleTimeout, DriverUnavailable
from pytest_hil.lab import load_lab
from tests.conftest import REPO

LAB = """
version: 1
boards:
  sim-t:
    labels: {family: simboard}
    resources:
      power: {driver: sim-power, password: s3cret, boot_time: 0.2}
      console: {driver: sim-console, timeout: 5}
      pmic: {driver: sim-console, uart: 1, timeout: 5}
"""
PROMPT = r"root@sim-t:\S*# "


@pytest.fixture
def board(write_lab: Callable[..., Path]) -> Iterator[Board]:
    lab = load_lab(write_lab(LAB))
    board = Board(lab.boards["sim-t"], lab.path.parent)
    yield board
    assert board.close() == []


def console_of(board: Board) -> StreamConsole:
    console = board.console
    assert isinstance(console, StreamConsole)
    return console


def answer_login(board: Board, password: str) -> StreamConsole:
    """Power on and answer the login prompt as root with `password`."""
    console = console_of(board)
    board.power.on()  # type: ignore[attr-defined]
    console.expect("login: ")
    console.sendline("root")
    console.expect("Password: ")
    console.sendline(password)
    return console


def log_in(board: Board) -> StreamConsole:
    console = answer_login(board, "s3cret")
    console.expect(PROMPT)
    return console


def run(console: StreamConsole, command: str) -> tuple[str, int]:
    console.sendline(f"{command}; echo RC=$?")
    console.expect(r"RC=(\d+)\r\n")
    output = console.before.split("\r\n", 1)[1] if "\r\n" in console.before else ""
    code = int(console.match.group(1))  # type: ignore[union-attr]
    console.expect(PROMPT)
    return output, code


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its reaper does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_power_on_boots_to_a_login_prompt(board: Board) -> None:
    console = console_of(board)
    assert board.power.state() is False  # type: ignore[attr-defined]
    board.power.on()  # type: ignore[attr-defined]
    started = time.monotonic()
    console.expect("sim-t login: ")
    assert time.monotonic() - started >= 0.15  # the boot log takes its time, like a board
    assert "Linux version" in console.before and "U-Boot" in console.before
    assert board.power.state() is True  # type: ignore[attr-defined]


def test_login_gives_a_shell_prompt(board: Board) -> None:
    console = log_in(board)
    assert "Last login" in console.before


def test_password_is_not_echoed(board: Board) -> None:
    console = log_in(board)
    assert "s3cret" not in console.before


def test_wrong_password_is_refused(board: Board) -> None:
    console = answer_login(board, "wrong")
    assert console.expect(["Login incorrect", PROMPT]) == 0
    console.expect("login: ")


def test_commands_run_with_real_exit_codes(board: Board) -> None:
    console = log_in(board)
    assert run(console, "true") == ("", 0)
    assert run(console, "sh -c 'exit 3'")[1] == 3
    assert run(console, "ls /definitely/missing >/dev/null 2>&1")[1] == 2
    assert run(console, "echo $((6 * 7))") == ("42\r\n", 0)


def test_the_shell_keeps_state_in_its_scratch_folder(board: Board) -> None:
    console = log_in(board)
    home, _ = run(console, "pwd")
    assert Path(home.strip()).name.startswith("hil-sim-sim-t-")
    run(console, "echo hello > note.txt; export GREETING=hi; mkdir sub; cd sub")
    assert run(console, 'cat ../note.txt; echo "$GREETING"; basename "$PWD"')[0] == "hello\r\nhi\r\nsub\r\n"


def test_ctrl_c_interrupts_a_command(board: Board) -> None:
    console = log_in(board)
    console.sendline("sleep 30")
    time.sleep(0.3)
    console.sendcontrol("c")
    console.expect(PROMPT, timeout=3)
    assert run(console, "echo alive") == ("alive\r\n", 0)


def test_power_off_kills_the_shell_and_silences_the_console(board: Board) -> None:
    console = log_in(board)
    pid = int(run(console, "sleep 60 & echo $!")[0].strip())
    board.power.off()  # type: ignore[attr-defined]
    assert board.power.state() is False  # type: ignore[attr-defined]
    time.sleep(0.1)
    console.read_nonblocking(65536, timeout=0.2)  # what was in flight when power went
    assert console.read_nonblocking(timeout=0.5) == ""
    console.sendline("echo anyone?")
    assert console.read_nonblocking(timeout=0.5) == ""  # no firmware: no echo, no answer
    assert not alive(pid)


def test_power_on_after_off_boots_again(board: Board) -> None:
    console = log_in(board)
    board.power.cycle(off_time=0.1)  # type: ignore[attr-defined]
    console.expect("Booting Linux")
    console.expect("login: ")
    assert "anyone" not in console.before


def test_power_management_uart_logs_power_changes(board: Board) -> None:
    board.power.on()  # type: ignore[attr-defined]
    board.power.off()  # type: ignore[attr-defined]
    pmic = board.pmic
    pmic.expect(r"\[pmic\] power on")  # type: ignore[attr-defined]
    pmic.expect(r"\[pmic\] power off")  # type: ignore[attr-defined]


def test_expect_timeout_names_board_resource_and_output(board: Board) -> None:
    console = console_of(board)
    board.power.on()  # type: ignore[attr-defined]
    console.expect("login: ")
    with pytest.raises(ConsoleTimeout, match=r"board sim-t, resource console: 'never' did not appear within 0.3 s"):
        console.expect("never", timeout=0.3)


def test_closing_the_last_driver_unplugs_the_board(board: Board) -> None:
    console = log_in(board)
    home = Path(run(console, "pwd")[0].strip())
    assert home.is_dir()
    board.close()
    assert not home.exists()


def test_read_output_is_not_matched_again(board: Board) -> None:
    console = log_in(board)
    console.sendline("echo one; echo two")
    console.expect("one")
    assert "two" in console.read_until_quiet(quiet=0.2)
    console.sendline("echo three")
    console.expect(["two", "three"])
    assert console.match is not None and console.match.group(0) == "three"


def test_a_missing_library_of_the_sim_board_skips_with_the_install_command(
    write_lab: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "can", None)  # python-can is not installed
    lab = load_lab(
        write_lab("version: 1\nboards:\n  b:\n    resources:\n      power: {driver: sim-power, can_channel: c1}\n")
    )
    board = Board(lab.boards["b"], lab.path.parent)
    try:
        with pytest.raises(DriverUnavailable) as raised:
            board.power  # noqa: B018
    finally:
        board.close()
    assert str(raised.value) == (
        "board b, resource power: the simulated board's options need can: pip install 'pytest-hil[sim]'"
    )


def test_every_extra_the_messages_name_exists_and_sim_brings_what_the_example_lab_uses() -> None:
    import re

    import tomllib

    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    texts = [
        path.read_text() for path in [*REPO.glob("src/**/*.py"), *REPO.glob("drivers/**/*.py"), REPO / "README.md"]
    ]
    named = {match for text in texts for match in re.findall(r"pytest-hil\[([a-z]+)\]", text)}
    assert named <= set(extras), named - set(extras)
    sim = " ".join(extras["sim"])
    for package in ("gpiozero", "python-can", "can-isotp", "pillow", "imagehash", "paramiko"):
        assert package in sim
