"""A real OpenSSH sshd on a loopback port with a temporary host key and authorized key (Debian's
openssh-server), for the SSH driver's tests."""

from __future__ import annotations

import contextlib
import getpass
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")


@dataclass(frozen=True)
class Sshd:
    port: int
    host_key: Path
    client_key: Path
    user: str


@contextlib.contextmanager
def running_sshd(folder: Path, address: str = "127.0.0.1", prefix: tuple[str, ...] = ()) -> Iterator[Sshd]:
    """sshd on `address` (a free port), run behind `prefix` (e.g. `ip netns exec NS` for another host)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("hostkey", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-f", str(folder / name), "-N", ""], check=True)
    (folder / "authorized_keys").write_text((folder / "client.pub").read_text())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1] if address == "127.0.0.1" else 22
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress {address}\nHostKey {folder / 'hostkey'}\nPidFile {folder / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
        f"UsePAM no\nStrictModes no\nAllowTcpForwarding yes\nSubsystem sftp {SFTP_SERVER}\n"
    )
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    subprocess.run([str(SSHD), "-t", "-f", str(config)], check=True)
    process = subprocess.Popen([*prefix, str(SSHD), "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((address, port)) == 0:
                break
        time.sleep(0.05)
    try:
        yield Sshd(port, folder / "hostkey.pub", folder / "client", getpass.getuser())
    finally:
        process.terminate()
        process.wait()
