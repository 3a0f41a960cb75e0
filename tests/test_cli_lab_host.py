"""Board commands on a board attached to a lab host: `hil run`, `power`, `console`, `flash`, `snapshot`
run there over SSH under the caller's lease. The lab host is a network namespace with its own sshd
(loopback sshd where namespaces cannot be made); each bad lab host is one line, before any lease."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest

from pytest_hil.cli.main import main
from pytest_hil.leases import LeaseStore, open_store
from tests.sshd import running_sshd
from tests.test_dist_remote import LAB_HOST, NAMESPACE, lab_host_namespace, need_sshd, ssh_config


@dataclass
class LabHostRig:
    folder: Path  # the lab folder here, and remote.chdir there (one file system)
    store: LeaseStore
    netns: str  # this process's network namespace
    in_namespace: bool


def lab_text(config: Path, chdir: Path, python: str = sys.executable) -> str:
    return f"""\
version: 1
name: remote-lab
remote: {{python: {python}, chdir: {chdir}, ssh_config: {config}}}
boards:
  sim-remote:
    host: labhost
    resources:
      power: {{driver: sim-power, boot_time: 0.1}}
      console: {{driver: sim-console, timeout: 10}}
      hdmi: {{driver: sim-video}}
      storage: {{driver: block-storage, path: {chdir}/card.img}}
      sd: {{driver: sim-storage}}
      ssh: {{driver: ssh, host: 127.0.0.1, insecure_host_key: true}}   # as the lab host reaches the board
    shell: {{username: root, prompt: 'root@sim-remote:\\S*# ', boot_timeout: 20}}
"""


@pytest.fixture
def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LabHostRig]:
    need_sshd()
    folder = tmp_path / "lab"
    folder.mkdir()
    (folder / "card.img").write_bytes(bytes(1 << 20))
    monkeypatch.chdir(folder)
    url = f"sqlite://{tmp_path}/leases.db"
    monkeypatch.setenv("HIL_LEASE_URL", url)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(lab_host_namespace())
            sshd = stack.enter_context(running_sshd(tmp_path / "sshd", LAB_HOST, ("ip", "netns", "exec", NAMESPACE)))
            address, inside = LAB_HOST, True
        except OSError:  # no namespaces here: the same path against sshd on loopback
            sshd = stack.enter_context(running_sshd(tmp_path / "sshd"))
            address, inside = "127.0.0.1", False
        (folder / "lab.yaml").write_text(lab_text(ssh_config(tmp_path, sshd, address), folder))
        with open_store(url, lab="remote-lab") as store:
            yield LabHostRig(folder, store, os.readlink("/proc/self/ns/net"), inside)


def hil(*args: str) -> int:
    return main(["--lab", "lab.yaml", *args])


def test_run_happens_on_the_lab_host_under_the_callers_lease(
    rig: LabHostRig, capfd: pytest.CaptureFixture[str]
) -> None:
    status = hil("run", "sim-remote", "--", "sh", "-c", "echo ran there; exit 3")
    out, _ = capfd.readouterr()
    assert status == 3 and out == "ran there\n"
    assert hil("run", "sim-remote", "--", "readlink", "/proc/self/ns/net") == 0
    where = capfd.readouterr().out.strip()
    assert where.startswith("net:[") and (where != rig.netns) == rig.in_namespace  # ran on the lab host
    history = rig.store.history()
    assert [(entry.board, entry.holder.pid) for entry in history] == [("sim-remote", os.getpid())] * 2  # the caller's


def test_the_lab_host_runs_the_command_in_its_network_namespace(rig: LabHostRig, tmp_path: Path) -> None:
    if not rig.in_namespace:
        pytest.skip("network namespaces cannot be made here; the loopback run covers the rest")
    probe = rig.folder / "probe.sh"
    probe.write_text('#!/bin/sh\nreadlink /proc/self/ns/net > "$1"\n')
    probe.chmod(0o755)
    from pytest_hil.cli.lab_host import LabHost
    from pytest_hil.lab import load_lab

    host = LabHost(load_lab(rig.folder / "lab.yaml"), "labhost")
    import subprocess

    subprocess.run(host.ssh(f"./probe.sh {tmp_path}/seen"), check=True)
    assert (tmp_path / "seen").read_text().strip() != rig.netns


def test_power_flash_and_snapshot_on_the_lab_host(
    rig: LabHostRig, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert hil("power", "sim-remote", "status") == 0
    assert capfd.readouterr().out == "sim-remote: off\n"
    image = tmp_path / "firmware.img"
    image.write_bytes(bytes(range(256)) * 1024)
    assert hil("flash", "sim-remote", str(image), "--resource", "storage", "--verify") == 0
    out, _ = capfd.readouterr()
    assert "sim-remote: flashed firmware.img" in out  # (its progress bar shows after a second: not for 256 KiB)
    assert (rig.folder / "card.img").read_bytes()[: len(image.read_bytes())] == image.read_bytes()
    assert hil("flash", "sim-remote", str(image), "--resource", "sd", "--verify") == 0  # the sim board's card
    assert "sim-remote: flashed firmware.img in " in capfd.readouterr().out
    assert not list(Path("/tmp").glob("hil-upload-*/firmware.img"))  # removed after the flash
    assert hil("snapshot", "sim-remote", "hdmi", str(tmp_path / "frame.png")) == 0
    assert capfd.readouterr().out == f"sim-remote: frame from lab host labhost saved to {tmp_path / 'frame.png'}\n"
    from PIL import Image

    with Image.open(tmp_path / "frame.png") as frame:
        assert frame.size == (640, 480)
    assert rig.store.holders() == {} and len(rig.store.history()) == 4


def test_console_passes_the_terminal_through(rig: LabHostRig) -> None:
    child = pexpect.spawn(
        sys.executable, ["-m", "pytest_hil.cli.main", "--lab", "lab.yaml", "console", "sim-remote"],
        cwd=str(rig.folder), encoding="utf-8", timeout=30, dimensions=(40, 120),
    )  # fmt: skip
    child.expect_exact("hil: console sim-remote.console; Ctrl-] then q leaves")
    child.expect("login:")
    child.sendline("root")
    child.expect(r"root@sim-remote:\S*# ")
    child.sendline("echo typed-$((40 + 2))")
    child.expect_exact("typed-42")
    child.send("\x1dq")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert rig.store.holders() == {}


def fake_python(tmp_path: Path, version: str | None) -> Path:
    """A python for the lab host whose pytest-hil is missing or of another version."""
    site = tmp_path / "fake-site"
    site.mkdir()
    if version is not None:
        (site / f"pytest_hil-{version}.dist-info").mkdir()
        (site / f"pytest_hil-{version}.dist-info" / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: pytest-hil\nVersion: {version}\n"
        )
    python = tmp_path / "other-python"
    python.write_text(f'#!/bin/sh\nexec env -i PYTHONPATH={site} {sys.executable} -S "$@"\n')
    python.chmod(0o755)
    return python


@pytest.mark.parametrize("case", ["unreachable", "no pytest-hil", "another version", "no lab file"])
def test_a_lab_host_that_cannot_serve_is_one_line_before_any_lease(
    rig: LabHostRig, tmp_path: Path, capfd: pytest.CaptureFixture[str], case: str
) -> None:
    text = (rig.folder / "lab.yaml").read_text()
    if case == "unreachable":
        text = text.replace("ssh_config: ", "ssh_config: /nonexistent-")
        said = "hil: lab host labhost cannot be reached over SSH: "
    elif case == "no pytest-hil":
        text = text.replace(f"python: {sys.executable}", f"python: {fake_python(tmp_path, None)}")
        said = f"hil: lab host labhost: pytest-hil is not installed for {tmp_path / 'other-python'}"
    elif case == "another version":
        text = text.replace(f"python: {sys.executable}", f"python: {fake_python(tmp_path, '9.9.9')}")
        said = "hil: lab host labhost has pytest-hil 9.9.9, this machine "
    else:
        empty = tmp_path / "empty"
        empty.mkdir()
        text = text.replace(f"chdir: {rig.folder}", f"chdir: {empty}")
        said = f"hil: lab host labhost: no lab file lab.yaml in {empty}"
    (rig.folder / "lab.yaml").write_text(text)
    assert hil("power", "sim-remote", "on") == 1
    err = capfd.readouterr().err
    assert err.startswith(said) and err.count("\n") == 1, err
    assert rig.store.history() == [] and rig.store.holders() == {}  # nothing was leased


def test_watch_follows_a_console_held_on_the_lab_host(rig: LabHostRig) -> None:
    import signal
    import subprocess

    from tests.test_console_watch import read_until

    ticks = "for i in $(seq 1 25); do echo tick $i; sleep 0.3; done"  # long enough to be joined

    hil_here = [sys.executable, "-m", "pytest_hil.cli.main", "--lab", "lab.yaml"]
    holder = subprocess.Popen([*hil_here, "run", "--log-dir", "logs", "sim-remote", "--", ticks], cwd=rig.folder,
                              stdout=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 30
    while "sim-remote" not in rig.store.holders():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    watcher = subprocess.Popen([*hil_here, "console", "--watch", "sim-remote"], cwd=rig.folder,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    said = read_until(watcher.stderr, "Ctrl-C ends")
    assert f"pid {holder.pid} since" in said  # the caller's lease, seen from the lab host
    read_until(watcher.stdout, "tick 25")
    assert holder.wait(timeout=60) == 0
    watcher.send_signal(signal.SIGINT)
    watcher.wait(timeout=10)
    assert [entry.holder.pid for entry in rig.store.history()] == [holder.pid]  # the follower leased nothing


ECHO = """
import os, socket, sys, threading
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
def serve(client):
    client.sendall(("netns " + os.readlink("/proc/self/ns/net") + "\\n").encode())
    while data := client.recv(4096):
        client.sendall(data)
    client.close()
while True:
    client, _ = server.accept()
    threading.Thread(target=serve, args=(client,), daemon=True).start()
"""


def test_forward_reaches_a_port_of_the_board_through_the_lab_host(rig: LabHostRig) -> None:
    import socket
    import subprocess

    from pytest_hil.leases import Holder
    from tests.test_console_watch import read_until

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    prefix = ["ip", "netns", "exec", NAMESPACE] if rig.in_namespace else []
    service = subprocess.Popen([*prefix, sys.executable, "-c", ECHO, str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert service.stdout is not None and service.stdout.readline() == "ready\n"
        forward = subprocess.Popen(
            [sys.executable, "-m", "pytest_hil.cli.main", "--lab", "lab.yaml", "forward", "sim-remote", str(port)],
            cwd=rig.folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        said = read_until(forward.stdout, "Ctrl-C ends")
        assert f"-> 127.0.0.1:{port} of sim-remote through lab host labhost" in said
        local = said.split("hil forward: ", 1)[1].split(" ->")[0]
        host, local_port = local.rsplit(":", 1)
        for message in (b"first", b"second"):  # several connections
            with socket.create_connection((host, int(local_port)), timeout=10) as connection:
                greeting = connection.makefile("rb").readline().decode()
                connection.sendall(message)
                assert connection.recv(100) == message
            if rig.in_namespace:
                assert greeting.split()[1] != rig.netns  # the service answered from the lab host's side
        rig.store.force_release("sim-remote", "the tunnel must go", Holder("eve", "ops", 1))
        assert forward.wait(timeout=20) == 1
        assert (
            forward.stderr is not None
            and "lease on board sim-remote ended: the tunnel is closed" in forward.stderr.read().decode()
        )
    finally:
        service.kill()
        service.wait()


def test_hil_shell_runs_pytest_on_the_lab_hosts_board(rig: LabHostRig) -> None:
    """The whole CI job: lease through hil shell, pytest --hil-dist inside runs the test on the lab
    host under that lease, the lease ends with the shell."""
    import subprocess

    pytest.importorskip("xdist")
    (rig.folder / "test_there.py").write_text(
        "import os\nimport pytest\n\n@pytest.mark.hil('family=remote')\n"
        "def test_on_the_board(board, power):\n    power.on()\n    assert board.name == 'sim-remote'\n"
        f"    assert (os.readlink('/proc/self/ns/net') != {rig.netns!r}) == {rig.in_namespace}\n"
    )
    text = (
        (rig.folder / "lab.yaml")
        .read_text()
        .replace("    host: labhost\n", "    host: labhost\n    labels: {family: remote}\n")
    )
    (rig.folder / "lab.yaml").write_text(text)
    shell = subprocess.Popen(
        [sys.executable, "-m", "pytest_hil.cli.main", "--lab", "lab.yaml", "shell", "--select", "family=remote", "--",
         sys.executable, "-m", "pytest", "--hil-dist", "-p", "no:cacheprovider", "--hil-lease-timeout=10", "-rs",
         "test_there.py"],
        cwd=rig.folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    out, err = shell.communicate(timeout=180)
    assert shell.returncode == 0, out[-3000:] + err[-2000:]
    assert "1 passed" in out, out[-1500:]
    # one lease, the shell's: the controller of --hil-dist ran its worker under it
    assert [(entry.board, entry.holder.pid) for entry in rig.store.history()] == [("sim-remote", shell.pid)]
    assert rig.store.holders() == {}
