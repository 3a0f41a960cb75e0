"""hil forward to a board attached here: a local relay while the board is leased; its address from the
lab file (an ssh resource's host, a qemu hostfwd rule)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hil.lab import load_lab
from tests.test_cli_lab_host import ECHO
from tests.test_console_watch import read_until

LAB = """\
version: 1
boards:
  here:
    resources:
      power: {{driver: sim-power}}
      ssh: {{driver: ssh, host: 127.0.0.1, insecure_host_key: true}}
  vm:
    resources:
      vm: {{driver: qemu, kernel: {kernel}, hostfwd: ["tcp:127.0.0.1:2222-:22", "tcp::8080-:80"]}}
  bare:
    resources:
      power: {{driver: sim-power}}
"""


@pytest.fixture
def lab(write_lab: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HIL_LEASE_URL", f"sqlite://{tmp_path}/leases.db")
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(b"")
    return write_lab(LAB.format(kernel=kernel))


def test_addresses_come_from_the_lab_file(lab: Path) -> None:
    from pytest_hil.cli.forward_command import board_address
    from pytest_hil.errors import HilError

    boards = load_lab(lab).boards
    assert board_address(boards["here"], 80) == ("127.0.0.1", 80)
    assert board_address(boards["vm"], 22) == ("127.0.0.1", 2222)
    assert board_address(boards["vm"], 80) == ("127.0.0.1", 8080)
    with pytest.raises(HilError, match="board bare: no address for port 22: give it an ssh resource with host:"):
        board_address(boards["bare"], 22)


def test_a_local_relay_serves_connections_until_ctrl_c(lab: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    service = subprocess.Popen([sys.executable, "-c", ECHO, str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert service.stdout is not None and service.stdout.readline() == "ready\n"
        forward = subprocess.Popen([sys.executable, "-m", "pytest_hil.cli.main", "--lab", str(lab), "forward", "here",
                                    str(port), "--local", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        said = read_until(forward.stdout, "Ctrl-C ends")
        local = said.split("hil forward: ", 1)[1].split(" ->")[0]
        host, local_port = local.rsplit(":", 1)
        for message in (b"one", b"two"):
            with socket.create_connection((host, int(local_port)), timeout=10) as connection:
                connection.makefile("rb").readline()
                connection.sendall(message)
                assert connection.recv(100) == message
        forward.send_signal(signal.SIGINT)
        assert forward.wait(timeout=10) == 130
    finally:
        service.kill()
        service.wait()
