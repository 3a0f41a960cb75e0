"""ssh: paramiko against a real OpenSSH sshd on loopback: commands, output, files, forwards, host keys,
authentication, reconnecting."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hil_drivers.ssh.client import SshBoard
from pytest_hil.board import Board
from pytest_hil.errors import DriverError, LabError
from pytest_hil.lab import load_lab
from tests.sshd import SSHD, Sshd, running_sshd


def host_fingerprint(public_key: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", str(public_key)], capture_output=True, text=True, check=True).stdout
    return out.split()[1]


@pytest.fixture
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    if not SSHD.exists() or shutil.which("ssh-keygen") is None:
        reason = "the SSH tests need OpenSSH's sshd (apt-get install openssh-server)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture
def make_ssh(write_lab: Callable[..., Path], sshd: Sshd) -> Iterator[Callable[[str], SshBoard]]:
    boards: list[Board] = []

    def make(options: str) -> SshBoard:
        text = (
            f"version: 1\nboards:\n  b:\n    resources:\n      ssh: {{driver: ssh, host: 127.0.0.1, port: {sshd.port}, "
            f"username: {sshd.user}, {options}}}\n"
        )
        lab = load_lab(write_lab(text))
        board = Board(lab.boards["b"], lab.path.parent)
        boards.append(board)
        driver = board.ssh
        assert isinstance(driver, SshBoard)
        return driver

    yield make
    for board in boards:
        assert board.close() == []


def pinned(sshd: Sshd) -> str:
    return f"key_file: '{sshd.client_key}', host_key: '{host_fingerprint(sshd.host_key)}'"


def test_commands_exit_codes_stderr_and_large_output(make_ssh: Callable[[str], SshBoard], sshd: Sshd) -> None:
    ssh = make_ssh(pinned(sshd))
    result = ssh.run("echo out; echo err >&2; exit 3")
    assert (result.stdout, result.stderr, result.exit_code) == ("out\n", "err\n", 3)
    assert ssh.run("cd /tmp && pwd").stdout == "/tmp\n"
    big = ssh.run("head -c 5000000 /dev/zero | tr '\\0' a")
    assert len(big.stdout) == 5_000_000 and set(big.stdout) == {"a"} and big.exit_code == 0


def test_files_round_trip_over_sftp(make_ssh: Callable[[str], SshBoard], sshd: Sshd, tmp_path: Path) -> None:
    ssh = make_ssh(pinned(sshd))
    payload = os.urandom(1024 * 1024)
    (tmp_path / "up.bin").write_bytes(payload)
    ssh.put(tmp_path / "up.bin", str(tmp_path / "remote.bin"))
    ssh.get(str(tmp_path / "remote.bin"), tmp_path / "down.bin")
    assert (tmp_path / "down.bin").read_bytes() == payload
    assert ssh.run(f"sha256sum {tmp_path / 'remote.bin'}").stdout.split()[0] == hashlib.sha256(payload).hexdigest()


def test_a_local_port_forward_reaches_a_service_on_the_board(make_ssh: Callable[[str], SshBoard], sshd: Sshd) -> None:
    service = socket.create_server(("127.0.0.1", 0))
    port = service.getsockname()[1]

    def echo_once() -> None:
        connection, _ = service.accept()
        with connection:
            connection.sendall(b"echo: " + connection.recv(100))

    threading.Thread(target=echo_once, daemon=True).start()
    ssh = make_ssh(pinned(sshd))
    local = ssh.forward(port)
    with socket.create_connection(("127.0.0.1", local), timeout=5) as client:
        client.sendall(b"hello")
        assert client.recv(100) == b"echo: hello"
    service.close()


def test_a_wrong_pinned_host_key_is_refused(make_ssh: Callable[[str], SshBoard], sshd: Sshd) -> None:
    ssh = make_ssh(f"key_file: '{sshd.client_key}', host_key: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'")
    with pytest.raises(DriverError) as raised:
        ssh.run("true")
    assert str(raised.value) == (
        f"board b, resource ssh: {sshd.user}@127.0.0.1:{sshd.port}: host key {host_fingerprint(sshd.host_key)} is not "
        "the pinned SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA: refusing to connect"
    )


def test_an_unknown_host_key_is_refused_by_default_and_known_hosts_trusts_it(
    make_ssh: Callable[[str], SshBoard], sshd: Sshd, tmp_path: Path
) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    ssh = make_ssh(f"key_file: '{sshd.client_key}', known_hosts: '{known}'")
    fingerprint = re.escape(host_fingerprint(sshd.host_key))
    with pytest.raises(DriverError, match=rf"unknown host key {fingerprint} \(not in {known}\): pin it with host_key"):
        ssh.run("true")
    key_type, key = sshd.host_key.read_text().split()[:2]
    known.write_text(f"[127.0.0.1]:{sshd.port} {key_type} {key}\n")
    assert make_ssh(f"key_file: '{sshd.client_key}', known_hosts: '{known}'").run("true").exit_code == 0


def test_a_wrong_password_is_a_clear_authentication_error(
    make_ssh: Callable[[str], SshBoard], sshd: Sshd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOARD_SSH_PASSWORD", "not-the-password")
    ssh = make_ssh(f"password: '${{BOARD_SSH_PASSWORD}}', host_key: '{host_fingerprint(sshd.host_key)}'")
    with pytest.raises(DriverError, match=r"resource ssh: .*: authentication failed \(.*\): check username, password"):
        ssh.run("true")


def test_a_refused_connection_names_board_and_address(write_lab: Callable[..., Path]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lab = load_lab(write_lab(
        f"version: 1\nboards:\n  b:\n    resources:\n      ssh: {{driver: ssh, host: 127.0.0.1, port: {port}, "
        "insecure_host_key: true, reconnect_timeout: 0.5}\n"
    ))  # fmt: skip
    board = Board(lab.boards["b"], lab.path.parent)
    with pytest.raises(DriverError) as raised:
        board.ssh.run("true")  # type: ignore[attr-defined]
    assert str(raised.value) == (
        f"board b, resource ssh: root@127.0.0.1:{port}: cannot connect: Connection refused (tried for 0.5 s: is the "
        "board powered on, booted and running its SSH server?)"
    )
    board.close()


def test_the_connection_is_remade_after_the_board_rebooted(make_ssh: Callable[[str], SshBoard], sshd: Sshd) -> None:
    ssh = make_ssh(pinned(sshd) + ", reconnect_timeout: 20")
    assert ssh.run("echo before").stdout == "before\n"
    config = sshd.host_key.parent / "sshd_config"
    os.kill(int((sshd.host_key.parent / "sshd.pid").read_text()), 15)  # the board goes down ...
    restarted: list[subprocess.Popen[bytes]] = []

    def boot() -> None:
        restarted.append(subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL))

    timer = threading.Timer(1.0, boot)
    timer.start()
    try:
        ssh.close_connection()  # ... the old connection is gone
        assert ssh.run("echo after").stdout == "after\n"  # ... and comes back
    finally:
        timer.join()
        for process in restarted:
            process.terminate()
            process.wait()


def test_a_host_key_option_that_is_not_a_fingerprint_is_a_lab_error(write_lab: Callable[..., Path]) -> None:
    path = write_lab("version: 1\nboards:\n  b:\n    resources:\n      ssh: {driver: ssh, host: x, host_key: abc}\n")
    with pytest.raises(LabError, match=r"ssh.host_key: 'abc' is not a fingerprint like SHA256:"):
        load_lab(path)


def test_a_pinned_key_with_insecure_host_key_is_a_lab_error(write_lab: Callable[..., Path]) -> None:
    path = write_lab(
        "version: 1\nboards:\n  b:\n    resources:\n"
        "      ssh: {driver: ssh, host: x, host_key: 'SHA256:AAAA', insecure_host_key: true}\n"
    )
    with pytest.raises(LabError) as raised:
        load_lab(path)
    assert str(raised.value) == (
        f"{path}:5: boards.b.resources.ssh.insecure_host_key: accepting any host key contradicts the pinned "
        "host_key: keep one of them"
    )


def test_a_session_using_insecure_host_keys_says_so_in_its_header(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("lab.yaml").write_text(
        "version: 1\nname: ssh-lab\nboards:\n  b:\n    resources:\n"
        "      ssh: {driver: ssh, host: 127.0.0.1, insecure_host_key: true}\n"
        "  c:\n    resources:\n      ssh: {driver: ssh, host: 127.0.0.1}\n"
    )
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--hil-lab=lab.yaml")
    result.stdout.fnmatch_lines(
        [
            "pytest-hil: lab ssh-lab (*lab.yaml, sha256 *), boards: b, c; leases: sqlite://*",
            "pytest-hil: insecure SSH host keys (any key accepted) on b.ssh",
        ]
    )
