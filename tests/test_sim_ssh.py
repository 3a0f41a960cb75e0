"""The simulated board's SSH server, reached by the ssh driver: commands, files, reboots."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hil_drivers.ssh.client import SshBoard
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


def parts(board: Board) -> tuple[Power, SshBoard]:
    power, ssh = board.power, board.ssh
    assert isinstance(power, Power) and isinstance(ssh, SshBoard)
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
