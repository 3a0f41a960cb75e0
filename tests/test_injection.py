"""Lab values are data, never code: commands get them through the shell's own expansion, the sim
firmware gets its password through a pipe, QEMU gets paths with commas escaped."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_hil.board import Board
from pytest_hil.console.shell import console_shell
from pytest_hil.errors import DriverError, LabError
from pytest_hil.lab import load_lab

HOSTILE = "x'; touch pwned; echo '\"; touch pwned2; echo \"$(touch pwned3)`touch pwned4`"


def command_board(tmp_path: Path, on: str, off: str = "'true'") -> Board:
    lab = tmp_path / "lab.yaml"
    lab.write_text(
        "version: 1\nboards:\n  b:\n    resources:\n"
        f"      power: {{driver: command-power, on: {on}, off: {off}, timeout: 5}}\n"
    )
    return Board(load_lab(lab).boards["b"], tmp_path)


def test_a_variable_reaches_a_command_as_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDU_PW", HOSTILE)
    board = command_board(tmp_path, """'echo "switching with ${PDU_PW}" > said.txt'""")
    try:
        board.power.on()  # type: ignore[attr-defined]
    finally:
        board.close()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["lab.yaml", "said.txt"]
    assert (tmp_path / "said.txt").read_text() == f"switching with {HOSTILE}\n"


def test_a_reference_in_single_quotes_is_a_lab_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDU_PW", HOSTILE)
    with pytest.raises(LabError) as raised:
        command_board(tmp_path, """"echo switching with '${PDU_PW}' > /dev/null\"""")
    assert str(raised.value) == (
        f"{tmp_path / 'lab.yaml'}:5: boards.b.resources.power.on: inside single quotes the shell does not expand "
        '${VAR}: use double quotes ("${VAR}")'
    )
    assert not list(tmp_path.glob("pwned*"))


def test_a_failing_command_s_output_is_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDU_PASSWORD", "very-secret-pw")
    board = command_board(tmp_path, """'echo "login ${PDU_PASSWORD} refused" >&2; exit 3'""")
    try:
        with pytest.raises(DriverError) as raised:
            board.power.on()  # type: ignore[attr-defined]
    finally:
        board.close()
    assert "very-secret-pw" not in str(raised.value)
    assert str(raised.value).endswith("exited with 3: login *** refused")


def test_the_sim_firmware_gets_its_password_off_the_command_line(tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text(
        "version: 1\nboards:\n  b:\n    resources:\n"
        "      power: {driver: sim-power, boot_time: 0.1, password: pw-in-no-argv}\n"
        "      console: {driver: sim-console, timeout: 5}\n"
        "    shell: {username: root, password: pw-in-no-argv, prompt: 'root@b:\\S*# '}\n"
    )
    board = Board(load_lab(lab).boards["b"], tmp_path)
    try:
        board.power.on()  # type: ignore[attr-defined]
        shell = console_shell(board)
        shell.connect()
        assert shell.run("echo in").stdout == "in\n"  # it logged in with the password
        command_lines = []
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    command_lines.append((proc / "cmdline").read_bytes())
                except OSError:
                    continue
        assert any(b"firmware.py" in line for line in command_lines)
        assert not any(b"pw-in-no-argv" in line for line in command_lines)
    finally:
        board.close()
