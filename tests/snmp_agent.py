"""A real net-snmp `snmpd` on loopback whose `pass` script holds an APC-style PDU's outlet states (one
file per outlet): v2c communities and a v3 authPriv user (SHA/AES), for the snmp-power tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: sPDUOutletCtl of APC's PowerNet-MIB: .<outlet> = 1 on, 2 off.
OUTLETS = ".1.3.6.1.4.1.318.1.1.4.4.2.1.3"
READ_COMMUNITY, WRITE_COMMUNITY = "lab-read", "lab-write"
V3_USER, V3_AUTH, V3_PRIV = "pduadmin", "auth-pass-phrase", "priv-pass-phrase"

PASS_SCRIPT = """#!/bin/sh
# net-snmp pass script: -g OID (get), -n OID (next: none), -s OID TYPE VALUE (set)
dir="{folder}"
base="{base}"
n="${{2##*.}}"
case "$2" in
  "$base".[1-8]) ;;
  *) exit 0 ;;
esac
case "$1" in
  -g) echo "$2"; echo integer; cat "$dir/outlet.$n" 2>/dev/null || echo 2 ;;
  -s) case "$4" in 1|2) echo "$4" > "$dir/outlet.$n" ;; *) echo wrong-value ;; esac ;;
esac
"""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Agent:
    folder: Path
    port: int
    process: subprocess.Popen[bytes]

    def outlet(self, number: int) -> int:
        """An outlet's state as the PDU holds it: 1 on, 2 off."""
        path = self.folder / f"outlet.{number}"
        return int(path.read_text()) if path.exists() else 2

    def pause(self) -> None:
        """The agent stops answering (a PDU gone silent)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@contextmanager
def snmpd(folder: Path) -> Iterator[Agent]:
    if shutil.which("snmpd") is None:
        raise RuntimeError("snmpd is not installed (.ci/stand-ins installs it)")
    script = folder / "outlets.sh"
    script.write_text(PASS_SCRIPT.format(folder=folder, base=OUTLETS))
    script.chmod(0o755)
    port = free_udp_port()
    config = folder / "snmpd.conf"
    config.write_text(
        f"agentAddress udp:127.0.0.1:{port}\n"
        f"rocommunity {READ_COMMUNITY} 127.0.0.1\nrwcommunity {WRITE_COMMUNITY} 127.0.0.1\n"
        f"createUser {V3_USER} SHA {V3_AUTH} AES {V3_PRIV}\nrwuser {V3_USER} priv\n"
        f"pass {OUTLETS} {script}\n"
    )
    (folder / "persistent").mkdir()
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(folder / "persistent"), "MIBS": ""}
    process = subprocess.Popen(
        ["snmpd", "-f", "-C", "-c", str(config), "-Lf", str(folder / "snmpd.log"), "-p", str(folder / "pid")],
        env=env,
    )
    agent = Agent(folder, port, process)
    try:
        deadline = time.monotonic() + 10
        while not (folder / "pid").exists():
            if process.poll() is not None or time.monotonic() > deadline:
                log = (folder / "snmpd.log").read_text() if (folder / "snmpd.log").exists() else ""
                raise RuntimeError(f"snmpd did not start: {log[-500:]}")
            time.sleep(0.05)
        yield agent
    finally:
        agent.resume()
        process.terminate()
        process.wait(timeout=10)
