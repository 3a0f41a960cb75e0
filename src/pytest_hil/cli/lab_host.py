"""Board commands on a board attached to a lab host (`host:`): run there, over SSH, as `hil` itself.

The caller leases the board here (the lease names the caller) and hands the lease to the `hil`
started on the lab host (leases/handoff.py), which uses the board under it. Before anything is leased,
one SSH call checks the lab host: reachable, pytest-hil installed for `remote.python`, the same
version as here, and the lab file at the same path relative to `remote.chdir` as it has here relative
to the current folder. Files named on the command line travel over the same SSH (an image to flash
goes up with a progress bar and is removed afterwards; a snapshot comes back).
"""

from __future__ import annotations

import importlib.metadata
import os
import shlex
import subprocess
import sys
from pathlib import Path

from pytest_hil.errors import HilError
from pytest_hil.lab import Lab
from pytest_hil.leases.handoff import hand_over
from pytest_hil.progress import Progress

#: Run by remote.python in remote.chdir: its pytest-hil version, and whether the lab file is there.
CHECK = (
    "import importlib.metadata, os, sys\n"
    "try:\n    print(importlib.metadata.version('pytest-hil'))\n"
    "except importlib.metadata.PackageNotFoundError:\n    print('missing')\n"
    "print(os.path.isfile(sys.argv[1]))\n"
)
CHUNK = 1 << 20
#: Set for the `hil` started on a lab host: the boards of that host are local there.
HERE_ENV = "HIL_LAB_HOST"


def on_this_host(host: str) -> bool:
    """Whether this process is the `hil` a caller started on lab host `host`."""
    return os.environ.get(HERE_ENV) == host


class LabHostError(HilError):
    """A lab host that cannot run a board command (unreachable, no pytest-hil, another version...)."""


class LabHost:
    """The lab host a board hangs on, as the lab file's `host:` and `remote:` describe it."""

    def __init__(self, lab: Lab, host: str) -> None:
        if lab.remote.chdir is None:
            raise LabHostError(
                f"{host}: the lab file sets no remote.chdir (where the lab file and tests are on the lab hosts)"
            )
        self.lab = lab
        self.host = host
        self.python = lab.remote.python
        self.chdir = lab.remote.chdir
        try:
            self.lab_argument = os.path.relpath(lab.path, Path.cwd())
        except ValueError:
            self.lab_argument = str(lab.path)
        if self.lab_argument.startswith(".."):
            raise LabHostError(
                f"{host}: run hil from the folder that holds the lab file (or above it): the lab host has it"
                f" at the same relative path under {self.chdir}, and {lab.path} is outside {Path.cwd()}"
            )

    def ssh_options(self, tty: bool = False) -> list[str]:
        """ssh and its options for this lab host, before the host name: no password prompts, no escape
        character (a console's bytes pass as they are), the lab file's ssh_config."""
        argv = ["ssh", "-o", "BatchMode=yes", "-e", "none", "-t" if tty else "-T"]
        if self.lab.remote.ssh_config is not None:
            argv += ["-F", str(self.lab.remote.ssh_config)]
        return argv

    def ssh(self, remote_command: str, tty: bool = False) -> list[str]:
        """The ssh command line running `remote_command` (a shell line) in remote.chdir."""
        return [*self.ssh_options(tty), self.host, f"cd {shlex.quote(self.chdir)} && {remote_command}"]

    def check(self) -> None:
        """One line for each way the lab host cannot run the command; nothing is leased before it."""
        line = f"{shlex.quote(self.python)} -c {shlex.quote(CHECK)} {shlex.quote(self.lab_argument)}"
        try:
            done = subprocess.run(self.ssh(line), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise LabHostError(f"lab host {self.host}: cannot run ssh: {error}") from None
        said = [text.strip() for text in done.stderr.splitlines() if text.strip()]
        if done.returncode == 255:
            raise LabHostError(f"lab host {self.host} cannot be reached over SSH: {said[-1] if said else 'no answer'}")
        lines = done.stdout.split()
        if done.returncode != 0 or len(lines) != 2:
            reason = said[-1] if said else f"exit status {done.returncode}"
            raise LabHostError(f"lab host {self.host}: {self.python} cannot run there ({reason})")
        version, has_lab = lines
        here = importlib.metadata.version("pytest-hil")
        if version == "missing":
            raise LabHostError(f"lab host {self.host}: pytest-hil is not installed for {self.python}")
        if version != here:
            raise LabHostError(f"lab host {self.host} has pytest-hil {version}, this machine {here}: install the same")
        if has_lab != "True":
            raise LabHostError(f"lab host {self.host}: no lab file {self.lab_argument} in {self.chdir}")

    def hil(self, arguments: list[str], board: str, token: str, tty: bool = False, quiet: bool = False) -> int:
        """Run `hil ARGUMENTS` on the lab host under the caller's lease; its exit status (`quiet`: its
        standard output only shown when it fails)."""
        environment = {HERE_ENV: self.host, **hand_over(board, token)}
        if os.environ.get("HIL_LEASE_URL"):
            environment["HIL_LEASE_URL"] = os.environ["HIL_LEASE_URL"]
        settings = " ".join(f"{name}={shlex.quote(value)}" for name, value in environment.items())
        words = " ".join(shlex.quote(word) for word in ["--lab", self.lab_argument, *arguments])
        line = f"exec env {settings} {shlex.quote(self.python)} -m pytest_hil.cli.main {words}"
        if not quiet:
            return subprocess.call(self.ssh(line, tty=tty))
        done = subprocess.run(self.ssh(line), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        if done.returncode != 0:
            sys.stdout.write(done.stdout)
        return done.returncode

    def follow(self, board: str, resource: str | None) -> int:
        """`hil console --watch` on the lab host (where the log is): no lease, no input."""
        settings = f"{HERE_ENV}={shlex.quote(self.host)}"
        if os.environ.get("HIL_LEASE_URL"):
            settings += f" HIL_LEASE_URL={shlex.quote(os.environ['HIL_LEASE_URL'])}"
        words = ["--lab", self.lab_argument, "console", "--watch", board, *([resource] if resource else [])]
        line = f"exec env {settings} {shlex.quote(self.python)} -m pytest_hil.cli.main " + " ".join(
            map(shlex.quote, words)
        )
        return subprocess.call(self.ssh(line), stdin=subprocess.DEVNULL)

    def upload(self, local: Path, progress: Progress) -> str:
        """Copy `local` into a new folder on the lab host (its bytes through the SSH's stdin, with a
        progress bar); the remote path."""
        folder = self._remote_output(["mktemp", "-d", "/tmp/hil-upload-XXXXXX"]).strip()
        remote = f"{folder}/{local.name}"
        size = local.stat().st_size
        sender = subprocess.Popen(self.ssh(f"cat > {shlex.quote(remote)}"), stdin=subprocess.PIPE)
        assert sender.stdin is not None
        task = progress.task(f"send {local.name} to {self.host}")
        sent = 0
        with local.open("rb") as source:
            while chunk := source.read(CHUNK):
                sender.stdin.write(chunk)
                sent += len(chunk)
                task.update(sent, size)
        sender.stdin.close()
        if sender.wait() != 0:
            self.remove(remote)
            raise LabHostError(f"lab host {self.host}: could not receive {local.name} (ssh exit {sender.returncode})")
        task.finish()
        return remote

    def download(self, remote: str, local: Path) -> None:
        """Copy the lab host's file `remote` to `local`."""
        with local.open("wb") as target:
            done = subprocess.run(
                self.ssh(f"cat {shlex.quote(remote)}"), stdin=subprocess.DEVNULL, stdout=target, stderr=subprocess.PIPE
            )
        if done.returncode != 0:
            local.unlink(missing_ok=True)
            raise LabHostError(f"lab host {self.host}: could not send back {remote}: {done.stderr.decode().strip()}")

    def remove(self, remote: str) -> None:
        """Remove a file and its upload folder from the lab host."""
        folder = str(Path(remote).parent)
        subprocess.run(self.ssh(f"rm -rf {shlex.quote(folder)}"), stdin=subprocess.DEVNULL, capture_output=True)

    def temporary(self, name: str) -> str:
        """A path for an output file in a new folder on the lab host."""
        folder = self._remote_output(["mktemp", "-d", "/tmp/hil-output-XXXXXX"]).strip()
        return f"{folder}/{name}"

    def _remote_output(self, command: list[str]) -> str:
        line = " ".join(shlex.quote(word) for word in command)
        done = subprocess.run(self.ssh(line), stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if done.returncode != 0:
            raise LabHostError(f"lab host {self.host}: {' '.join(command)}: {done.stderr.strip() or done.returncode}")
        return done.stdout
