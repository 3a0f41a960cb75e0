"""The QEMU board over SSH: dropbear (Debian's, with its libraries) in the busybox initramfs, reached
through the board's hostfwd port forward by the ssh driver."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from hil_drivers.qemu.initramfs import build_initramfs
from hil_drivers.qemu.machine import Qemu
from hil_drivers.ssh.client import SshBoard
from pytest_hil.board import Board
from pytest_hil.lab import load_lab

DROPBEAR = Path("/usr/sbin/dropbear")


@pytest.fixture(scope="module")
def ssh_initramfs(qemu_kernel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not DROPBEAR.exists():
        reason = "the QEMU board's SSH server needs dropbear (apt-get install dropbear-bin)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    version = qemu_kernel.name.removeprefix("vmlinuz-")
    return build_initramfs(
        tmp_path_factory.mktemp("qemu-ssh") / "initramfs.cpio.gz",
        password="qemu-ssh-pw",
        modules=["virtio_pci", "virtio_net"],
        modules_dir=qemu_kernel.parent.parent / "lib" / "modules" / version,
        binaries=[DROPBEAR],
        network=True,
        services=["mkdir -p /etc/dropbear && dropbear -R -B -p 22"],
    )


@pytest.fixture
def board(qemu_kernel: Path, ssh_initramfs: Path, tmp_path: Path) -> Iterator[Board]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "lab.yaml").write_text(f"""
version: 1
boards:
  qemu-ssh:
    resources:
      vm: {{driver: qemu, kernel: "{qemu_kernel}", initrd: "{ssh_initramfs}", append: "console=ttyS0 quiet",
           nic_model: virtio-net-pci, hostfwd: ["tcp:127.0.0.1:{port}-:22"]}}
      ssh: {{driver: ssh, host: 127.0.0.1, port: {port}, password: qemu-ssh-pw, insecure_host_key: true,
            reconnect_timeout: 90}}
""")  # fmt: skip
    lab = load_lab(tmp_path / "lab.yaml")
    board = Board(lab.boards["qemu-ssh"], tmp_path)
    yield board
    assert board.close() == []


def test_the_qemu_board_answers_over_ssh_through_its_port_forward(board: Board, tmp_path: Path) -> None:
    vm, ssh = board.vm, board.ssh
    assert isinstance(vm, Qemu) and isinstance(ssh, SshBoard)
    vm.on()
    assert vm.forwards[22] == ("127.0.0.1", ssh.options.port)
    result = ssh.run("hostname; id -un; echo err >&2; exit 5")
    assert (result.stdout, result.stderr, result.exit_code) == ("hil-qemu\nroot\n", "err\n", 5)
    assert ssh.run("grep -c ^processor /proc/cpuinfo").stdout == "1\n"  # the guest, not this machine
