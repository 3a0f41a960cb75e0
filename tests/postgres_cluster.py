"""A throwaway PostgreSQL cluster on loopback (Debian's postgresql package), for the lease tests and
the hand-off benchmark. initdb refuses root, so as root the cluster runs as the postgres user."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def missing_parts() -> list[str]:
    """What this machine lacks for a cluster, as install hints."""
    missing = []
    if postgres_bin() is None:
        missing.append("PostgreSQL (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing.append("psycopg (pip install 'pytest-hil[postgres]')")
    return missing


@dataclass(frozen=True)
class Cluster:
    """A running cluster: `url` of its `postgres` database; `restart()` stops and starts it."""

    url: str
    pg_ctl: tuple[str, ...]
    options: str
    log: Path

    def restart(self, down_for: float = 1.0) -> None:
        subprocess.run([*self.pg_ctl, "-m", "fast", "-w", "stop"], check=True, capture_output=True)
        time.sleep(down_for)
        subprocess.run([*self.pg_ctl, "-l", str(self.log), "-w", "-o", self.options, "start"], check=True,
                       capture_output=True)  # fmt: skip


@contextlib.contextmanager
def postgres_cluster() -> Iterator[Cluster]:
    """Start a cluster; yields it; stops and deletes it after."""
    binaries = postgres_bin()
    assert binaries is not None, missing_parts()
    # not under pytest's basetemp: that is private to this user, and the cluster may run as postgres
    folder = Path(tempfile.mkdtemp(prefix="hil-postgres-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        folder.chmod(0o700)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, sockets = folder / "data", folder / "sock"
    pg_ctl = [*as_postgres, str(binaries / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run(
            [*as_postgres, str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E",
             "UTF8", "--no-sync"], check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run([*as_postgres, "mkdir", str(sockets)], check=True)
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off"
        subprocess.run([*pg_ctl, "-l", str(folder / "pg.log"), "-w", "-o", options, "start"], check=True,
                       capture_output=True)  # fmt: skip
        yield Cluster(f"postgresql://postgres@127.0.0.1:{port}/postgres", tuple(pg_ctl), options, folder / "pg.log")
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
