"""Shared fixtures: lab files for pytester runs and the simulated boards behind them."""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import hypothesis  # noqa: F401 - imported once here, not again by its plugin in every pytester run
import pytest

#: Two simulated boards with different labels and resources, booting fast.
SIM_LAB = """\
version: 1
name: test-lab
boards:
  sim-a:
    labels: {family: simboard, arch: arm64, display: hdmi}
    resources:
      power: {driver: sim-power, boot_time: 0.1}
      console: {driver: sim-console, timeout: 5}
  sim-b:
    labels: {family: simboard, arch: riscv64}
    resources:
      power: {driver: sim-power, boot_time: 0.1}
      console: {driver: sim-console, timeout: 5}
      pmic: {driver: sim-console, uart: 1, timeout: 5}
"""


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


@pytest.fixture
def sim_lab(pytester: pytest.Pytester) -> Path:
    """The two-board simulated lab, written as lab.yaml in the pytester folder."""
    path = pytester.path / "lab.yaml"
    path.write_text(SIM_LAB)
    return path


@pytest.fixture
def write_lab(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write lab text (dedented) to a file and return its path."""

    def write(text: str, name: str = "lab.yaml") -> Path:
        path = tmp_path / name
        path.write_text(dedent(text))
        return path

    return write


REPO = Path(__file__).parent.parent


def find_test_kernel() -> Path | None:
    """A distribution kernel for the QEMU board: $HIL_TEST_KERNEL, or the one .ci/stand-ins unpacked."""
    if os.environ.get("HIL_TEST_KERNEL"):
        return Path(os.environ["HIL_TEST_KERNEL"])
    found = sorted((REPO / ".ci" / "cache" / "kernel" / "boot").glob("vmlinuz-*"))
    return found[-1] if found else None


@pytest.fixture(scope="session")
def qemu_kernel() -> Path:
    """The kernel the QEMU board boots; skips (fails on CI, which installs it) when the stand-in is missing."""
    from hil_drivers.qemu.initramfs import find_busybox

    kernel = find_test_kernel()
    missing = [
        what
        for what, present in (
            ("a kernel (.ci/stand-ins or HIL_TEST_KERNEL)", kernel is not None and kernel.is_file()),
            ("qemu-system-x86_64 (apt-get install qemu-system-x86)", shutil.which("qemu-system-x86_64") is not None),
            ("busybox (apt-get install busybox-static)", find_busybox() is not None),
        )
        if not present
    ]
    if missing:
        reason = "the QEMU board needs " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs them: a skip there would hide a broken install step
        pytest.skip(reason)
    assert kernel is not None
    return kernel


QEMU_PASSWORD = "qemu-root-pw"


@pytest.fixture(scope="session")
def qemu_initramfs(tmp_path_factory: pytest.TempPathFactory, qemu_kernel: Path) -> Path:
    """A busybox initramfs: init, getty on ttyS0, root with QEMU_PASSWORD."""
    from hil_drivers.qemu.initramfs import build_initramfs

    return build_initramfs(tmp_path_factory.mktemp("qemu") / "initramfs.cpio.gz", password=QEMU_PASSWORD)


@pytest.fixture(scope="session")
def qemu_disk_initramfs(tmp_path_factory: pytest.TempPathFactory, qemu_kernel: Path) -> Path:
    """Like `qemu_initramfs`, with the kernel's virtio disk modules, so the board sees its disk as /dev/vda."""
    from hil_drivers.qemu.initramfs import build_initramfs

    version = qemu_kernel.name.removeprefix("vmlinuz-")
    modules = qemu_kernel.parent.parent / "lib" / "modules" / version
    if not modules.is_dir():
        pytest.skip(f"the kernel's modules are not in {modules}")
    return build_initramfs(
        tmp_path_factory.mktemp("qemu-disk") / "initramfs.cpio.gz",
        password=QEMU_PASSWORD,
        modules=["virtio_blk", "virtio_pci"],
        modules_dir=modules,
    )


def qemu_lab_text(kernel: Path, initrd: Path, name: str = "qemu-01", extra: str = "") -> str:
    return dedent(
        f"""
        version: 1
        boards:
          {name}:
            labels: {{family: qemu-x86, arch: x86_64}}
            resources:
              vm: {{driver: qemu, arch: x86_64, kernel: "{kernel}", initrd: "{initrd}",
                   append: "console=ttyS0 panic=-1 quiet", memory: 256M{extra}}}
            shell: {{console: vm, username: root, password: "${{QEMU_ROOT_PASSWORD:-{QEMU_PASSWORD}}}",
                    prompt: 'root@hil-qemu:\\S*# ', boot_timeout: 60}}
        """
    )


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL cluster on loopback for this test session (Debian's postgresql package);
    skips where it is missing (fails under CI=true, which installs it)."""
    import socket
    import subprocess

    binaries = _postgres_bin()
    missing = []
    if binaries is None:
        missing.append("PostgreSQL (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing.append("psycopg (pip install 'pytest-hil[postgres]')")
    if missing:
        reason = "the lease tests on PostgreSQL need " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    assert binaries is not None
    import tempfile

    # not under pytest's basetemp: it is private to this user, and the cluster runs as postgres
    folder = Path(tempfile.mkdtemp(prefix="hil-postgres-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
        shutil.chown(folder, "postgres")
        folder.chmod(0o700)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, sockets = folder / "data", folder / "sock"
    subprocess.run(
        [*as_postgres, str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
         "--no-sync"], check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run([*as_postgres, "mkdir", str(sockets)], check=True)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off"
    subprocess.run(
        [*as_postgres, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "pg.log"), "-w", "-o", options,
         "start"], check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_postgres, str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       check=False, capture_output=True)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _private_lease_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test leases boards in a store of its own, never in the user's state folder."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("HIL_LEASE_URL", raising=False)
