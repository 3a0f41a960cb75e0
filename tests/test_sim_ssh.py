"""The simulated board's SSH server, reached by the ssh driver: commands, files, reboots."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hil_drivers.ssh.client import SshConnection
from pytest_hil.board import Board
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import Power
from pytest_hil.lab import load_lab


@pytest.fixture
def board(write_lab: Callable[..., Path]) -> Iterator[Board]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lab = load_lab(write_lab(f"""
version: 1
boards:
  sim-s:
    resources:
      power: {{driver: sim-power, boot_time: 0.1, password: pw-1234, ssh_port: {port}}}
      ssh: {{driver: ssh, host: 127.0.0.1, port: {port}, password: pw-1234, insecure_host_key: true,
             reconnect_timeout: 3}}
"""))  # fmt: skip
    board = Board(lab.boards["sim-s"], lab.path.parent)
    yield board
    assert board.close() == []


def parts(board: Board) -> tuple[Power, SshConnection]:
    power, ssh = board.power, board.ssh
    assert isinstance(power, Power) and isinstance(ssh, SshConnection)
    return power, ssh


def test_commands_and_files_over_the_sim_boards_ssh(board: Board, tmp_path: Path) -> None:
    power, ssh = parts(board)
    power.on()
    result = ssh.run("echo $USER in $(basename $HOME); echo oops >&2; exit 4")
    assert result.stdout.startswith("root in hil-sim-sim-s-") and result.stderr == "oops\n" and result.exit_code == 4
    payload = os.urandom(300_000)
    (tmp_path / "fw.bin").write_bytes(payload)
    ssh.put(tmp_path / "fw.bin", str(tmp_path / "on-board.bin"))
    ssh.get(str(tmp_path / "on-board.bin"), tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == payload


def test_ssh_comes_back_after_a_power_cycle_and_is_gone_while_off(board: Board) -> None:
    power, ssh = parts(board)
    power.on()
    assert ssh.run("echo up").stdout == "up\n"
    power.cycle(off_time=0.3)
    assert ssh.run("echo again").stdout == "again\n"  # a new connection to the rebooted board
    power.off()
    with pytest.raises(DriverError, match=r"resource ssh: root@127.0.0.1:\d+: cannot connect|over SSH"):
        ssh.run("true")


def test_relative_sftp_paths_are_relative_to_the_login_home(
    board: Board, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    power, ssh = parts(board)
    power.on()
    (tmp_path / "payload.bin").write_bytes(b"relative")
    ssh.put(tmp_path / "payload.bin", "payload.bin")
    assert ssh.run("cat payload.bin").stdout == "relative"  # ssh.run runs in the home too
    assert sorted(path.name for path in tmp_path.iterdir()) == ["lab.yaml", "payload.bin"]


@pytest.fixture
def auto_board(write_lab: Callable[..., Path]) -> Iterator[Board]:
    lab = load_lab(write_lab("""
version: 1
boards:
  sim-s:
    resources:
      power: {driver: sim-power, boot_time: 0.1, password: pw-1234, ssh: true}
      ssh: {driver: sim-ssh, reconnect_timeout: 3}
"""))  # fmt: skip
    board = Board(lab.boards["sim-s"], lab.path.parent)
    yield board
    assert board.close() == []


def test_sim_ssh_finds_a_free_port_and_pins_the_host_key(auto_board: Board) -> None:
    with socket.socket() as squatter:  # another program holds the port the example lab once fixed
        squatter.bind(("127.0.0.1", 2201))
        squatter.listen()
        auto_board.power.on()  # type: ignore[attr-defined]
        ssh = auto_board.ssh
        assert isinstance(ssh, SshConnection)
        assert ssh.run("id -un").stdout == "root\n"
        assert ssh.endpoint().host_key is not None and ssh.endpoint().port != 2201


def test_sim_ssh_says_when_the_board_is_off(auto_board: Board) -> None:
    ssh = auto_board.ssh
    assert isinstance(ssh, SshConnection)
    with pytest.raises(DriverError, match=r"resource ssh: the simulated board sim-s is off"):
        ssh.run("true")


def test_a_fixed_ssh_port_in_use_is_a_clear_error(write_lab: Callable[..., Path]) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        lab = load_lab(
            write_lab(
                f"version: 1\nboards:\n  b:\n    resources:\n      power: {{driver: sim-power, ssh_port: {port}}}\n"
            )
        )
        board = Board(lab.boards["b"], lab.path.parent)
        try:
            with pytest.raises(DriverError) as raised:
                board.power.on()  # type: ignore[attr-defined]
            assert board.power.state() is False  # type: ignore[attr-defined]
        finally:
            board.close()
    assert str(raised.value) == (
        f"board b, resource power: the board's SSH server cannot listen on 127.0.0.1:{port} (Address already in "
        "use): another program uses it; choose another ssh_port, or write ssh: true for a free port (reached with "
        "a sim-ssh resource)"
    )
