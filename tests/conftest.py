"""Shared fixtures: lab files for pytester runs and the simulated boards behind them."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hypothesis  # noqa: F401 - imported once here, not again by its plugin in every pytester run
import psycopg  # once here: a copy re-imported after an in-process pytester run misses psycopg's C errors
import pytest

if TYPE_CHECKING:
    from pytest_hil.board import Board
    from tests.postgres_cluster import Cluster

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


@pytest.fixture
def mock_pins() -> Iterator[Any]:
    """gpiozero's MockFactory as the pin factory for this test (a fresh one: no pin state left over)."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    previous = Device.pin_factory
    Device.pin_factory = MockFactory()
    yield Device.pin_factory
    Device.pin_factory.reset()
    Device.pin_factory = previous


MakeBoard = Callable[..., "Board"]


@pytest.fixture
def make_board(write_lab: Callable[..., Path], tmp_path: Path) -> Iterator[MakeBoard]:
    """`make_board(resources, test_dir=None)`: board `b` of a lab with these resource lines, as during
    a test whose logs go to `test_dir` (default: a folder of this test), with a console log called
    `console` that records the drivers' notes; closed, without errors, after the test."""
    from pytest_hil.board import Board
    from pytest_hil.lab import load_lab

    boards: list[Board] = []

    def make(resources: str, test_dir: Path | None = None) -> Board:
        lines = textwrap.indent(textwrap.dedent(resources).strip() + "\n", " " * 6)
        lab = load_lab(write_lab(f"version: 1\nboards:\n  b:\n    resources:\n{lines}"))
        board = Board(lab.boards["b"], lab.path.parent)
        board.logs.console("console")
        board.logs.start_test(test_dir or tmp_path / "test")
        boards.append(board)
        return board

    yield make
    for board in boards:
        board.logs.end_test()
        assert board.close() == []


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


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """A real PostgreSQL cluster on loopback for this test session (Debian's postgresql package);
    skips where it is missing (fails under CI=true, which installs it)."""
    from tests.postgres_cluster import missing_parts, postgres_cluster

    missing = missing_parts()
    if missing:
        reason = "the lease tests on PostgreSQL need " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def postgres_url(postgres: Cluster) -> str:
    return postgres.url


@pytest.fixture(autouse=True)
def _private_lease_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test leases boards in a store of its own, never in the user's state folder."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("HIL_LIVE_DIR", str(tmp_path / "live"))  # consoles to follow: this test's own
    monkeypatch.delenv("HIL_LEASE_URL", raising=False)


@pytest.fixture(autouse=True)
def _terminal_width(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest runs under test see an 80-column terminal off CI wherever the suite runs: its short
    summary shows a whole message only when it fits, or always when it believes it runs on CI (CI
    or BUILD_NUMBER set), so a wide terminal or CI's environment changed what the output held;
    `hil` run from other tests writes into a pipe, unlimited, unless a test sets COLUMNS itself."""
    if "pytester" in request.fixturenames:
        monkeypatch.setenv("COLUMNS", "80")
        monkeypatch.delenv("CI", raising=False)
        monkeypatch.delenv("BUILD_NUMBER", raising=False)
    else:
        monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh lease store: an SQLite file, and a database of its own on the test PostgreSQL cluster."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path}/leases.db"
        return
    base = request.getfixturevalue("postgres_url")
    database = f"hil_{abs(hash(request.node.nodeid)) % 10**9}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {database}")
        admin.execute(f"CREATE DATABASE {database}")
    yield base.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(autouse=True)
def _secrets_of_this_test_only() -> Iterator[None]:
    """The process-wide secret registry as before the test: one test's lab passwords (say `wrong`)
    must not mask another test's messages."""
    from pytest_hil.secrets import REGISTRY

    saved = REGISTRY.values
    yield
    REGISTRY.replace(saved)


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs (root only; skips elsewhere), unmounted after the test: for full and read-only
    file systems."""
    import subprocess

    folder = tmp_path / "small-fs"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def power_option_errors(tmp_path: Path, options: str) -> str:
    """What `hil check` says (exit 1) about a lab whose one board's `power` resource is `{options}`."""
    from pytest_hil.cli.main import main

    lab = tmp_path / "lab.yaml"
    lab.write_text(f"version: 1\nboards:\n  b1:\n    resources:\n      power: {{{options}}}\n")
    error = io.StringIO()
    with contextlib.redirect_stderr(error):
        assert main(["check", str(lab)]) == 1
    return error.getvalue()


@pytest.fixture
def virtual_bus() -> Iterator[Any]:
    """The virtual USB bus of tests.usb_bus, empty before and after the test."""
    from tests.usb_bus import BUS

    BUS.reset()
    yield BUS
    BUS.reset()


@pytest.fixture
def make_power(tmp_path: Path) -> Iterator[Callable[[str], tuple[Any, Any]]]:
    """`make_power(options)`: the `power` driver of board `b1` in a lab whose one resource is
    `power: {options}` (secrets masked in its logs as in a session), and that board; closed after."""
    from pytest_hil.board import Board
    from pytest_hil.console.log import BoardLogs
    from pytest_hil.interfaces import Power
    from pytest_hil.lab import load_lab

    boards: list[Board] = []

    def make(options: str) -> tuple[Power, Board]:
        (tmp_path / "lab.yaml").write_text(f"version: 1\nboards:\n  b1:\n    resources:\n      power: {{{options}}}\n")
        lab = load_lab(tmp_path / "lab.yaml")
        board = Board(lab.boards["b1"], tmp_path, BoardLogs("b1", tmp_path / "logs", lab.secrets))
        boards.append(board)
        return board.get(Power), board

    yield make
    for board in boards:
        board.close()
