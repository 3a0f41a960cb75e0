"""--hil-dist with a board on another host: its worker starts there over SSH (execnet's ssh gateway).

The other host is a network namespace with its own veth link and an OpenSSH sshd inside; where
namespaces cannot be made, the same path runs against sshd on loopback (and the namespace test says
so in its skip reason)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sshd import SSHD, Sshd, running_sshd

pytest.importorskip("xdist")

NAMESPACE = f"hil-lab-host-{os.getpid()}"
HOST_SIDE, LAB_HOST = "10.231.0.1", "10.231.0.2"  # a private test range, inside the namespace only


@contextlib.contextmanager
def lab_host_namespace() -> Iterator[str]:
    commands = [
        ["ip", "netns", "add", NAMESPACE],
        ["ip", "link", "add", "hilv0", "type", "veth", "peer", "name", "hilv1", "netns", NAMESPACE],
        ["ip", "addr", "add", f"{HOST_SIDE}/24", "dev", "hilv0"],
        ["ip", "link", "set", "hilv0", "up"],
        ["ip", "netns", "exec", NAMESPACE, "ip", "addr", "add", f"{LAB_HOST}/24", "dev", "hilv1"],
        ["ip", "netns", "exec", NAMESPACE, "ip", "link", "set", "hilv1", "up"],
        ["ip", "netns", "exec", NAMESPACE, "ip", "link", "set", "lo", "up"],
    ]
    try:
        for command in commands:
            made = subprocess.run(command, capture_output=True, text=True)
            if made.returncode != 0:
                raise OSError(f"{' '.join(command)}: {made.stderr.strip()}")
        yield NAMESPACE
    finally:
        subprocess.run(["ip", "link", "del", "hilv0"], capture_output=True)
        subprocess.run(["ip", "netns", "del", NAMESPACE], capture_output=True)


def need_sshd() -> None:
    if not SSHD.exists() or shutil.which("ssh") is None:
        reason = "needs OpenSSH (apt-get install openssh-server openssh-client)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def ssh_config(folder: Path, sshd: Sshd, address: str) -> Path:
    known = folder / "known_hosts"
    key_type, key = sshd.host_key.read_text().split()[:2]
    known.write_text(f"[{address}]:{sshd.port} {key_type} {key}\n{address} {key_type} {key}\n")
    config = folder / "ssh_config"
    config.write_text(
        f"Host labhost\n  HostName {address}\n  Port {sshd.port}\n  User {sshd.user}\n  IdentityFile {sshd.client_key}\n"
        f"  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n  BatchMode yes\n"
    )
    return config


def lab_text(config: Path, chdir: Path) -> str:
    return f"""\
version: 1
remote: {{python: {sys.executable}, chdir: {chdir}, ssh_config: {config}}}
boards:
  sim-local:
    labels: {{where: here}}
    resources:
      power: {{driver: sim-power, boot_time: 0.1}}
  sim-remote:
    labels: {{where: there}}
    host: labhost
    resources:
      power: {{driver: sim-power, boot_time: 0.1}}
      console: {{driver: sim-console}}
"""


TESTS = """
import os
import pytest

CONTROLLER_NETNS = {netns!r}

@pytest.mark.hil("where=there")
def test_on_the_lab_host(board, power, console):
    power.on()
    assert board.name == "sim-remote"
    assert "SSH_CONNECTION" in os.environ  # started through sshd
    {namespace_check}

@pytest.mark.hil("where=here")
def test_here(board):
    assert "SSH_CONNECTION" not in os.environ or os.environ.get("HIL_OUTER_SSH")
"""


def run_remote(pytester: pytest.Pytester, config: Path, namespace_check: str) -> pytest.RunResult:
    (pytester.path / "lab.yaml").write_text(lab_text(config, pytester.path))
    netns = os.readlink("/proc/self/ns/net")
    pytester.makepyfile(test_remote=TESTS.format(netns=netns, namespace_check=namespace_check))
    return pytester.runpytest_subprocess("--hil-lab=lab.yaml", "--hil-dist", "-v", "--junitxml=report.xml")


def assert_logs_came_back(pytester: pytest.Pytester) -> None:
    """The lab host's console log reached the controller: junit names a copy here, and it is complete."""
    import xml.etree.ElementTree as ET

    root = ET.parse(pytester.path / "report.xml").getroot()
    (case,) = [case for case in root.iter("testcase") if case.get("name") == "test_on_the_lab_host"]
    logs = [p.get("value") or "" for p in case.iter("property") if p.get("name") == "hil.console_log"]
    assert logs and all("sim-remote@labhost" in path for path in logs)
    assert any("[hil] power on (sim-power sim-remote)" in Path(path).read_text() for path in logs)


def test_a_board_on_another_host_gets_its_worker_there(pytester: pytest.Pytester, tmp_path: Path) -> None:
    need_sshd()
    try:
        namespace = lab_host_namespace()
        namespace.__enter__()
    except OSError as error:
        pytest.skip(f"cannot create a network namespace here ({error}); "
                    "test_a_lab_host_over_ssh_on_loopback runs the same path against sshd on loopback")  # fmt: skip
    try:
        with running_sshd(tmp_path / "sshd", LAB_HOST, ("ip", "netns", "exec", NAMESPACE)) as sshd:
            config = ssh_config(tmp_path, sshd, LAB_HOST)
            result = run_remote(pytester, config, "assert os.readlink('/proc/self/ns/net') != CONTROLLER_NETNS")
    finally:
        namespace.__exit__(None, None, None)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines_random(["*PASSED on sim-remote test_remote.py::test_on_the_lab_host*"])
    assert_logs_came_back(pytester)


def test_a_lab_host_over_ssh_on_loopback(pytester: pytest.Pytester, tmp_path: Path) -> None:
    need_sshd()
    with running_sshd(tmp_path / "sshd") as sshd:
        config = ssh_config(tmp_path, sshd, "127.0.0.1")
        result = run_remote(pytester, config, "")
    result.assert_outcomes(passed=2)
    assert_logs_came_back(pytester)


def test_a_lab_host_without_the_tests_is_a_clear_error(pytester: pytest.Pytester, tmp_path: Path) -> None:
    need_sshd()
    with running_sshd(tmp_path / "sshd") as sshd:
        config = ssh_config(tmp_path, sshd, "127.0.0.1")
        empty = tmp_path / "empty"
        empty.mkdir()
        (pytester.path / "lab.yaml").write_text(lab_text(config, empty))
        pytester.makepyfile("import pytest\n\n@pytest.mark.hil('where=there')\ndef test_x(board):\n    pass\n")
        result = pytester.runpytest_subprocess("--hil-lab=lab.yaml", "--hil-dist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--hil-dist: lab host labhost (* in {empty}): no lab file lab.yaml in {empty}*"])


def test_remote_settings_are_checked_in_the_lab_file(tmp_path: Path) -> None:
    from pytest_hil.errors import LabError
    from pytest_hil.lab import load_lab

    path = tmp_path / "lab.yaml"
    path.write_text("version: 1\nremote: {chdir: tests, pyton: python3}\nboards:\n  b:\n    resources: {}\n")
    with pytest.raises(LabError) as raised:
        load_lab(path)
    assert f"{path}:2: remote.pyton: unknown key" in str(raised.value)
    path.write_text("version: 1\nremote: {chdir: tests}\nboards:\n  b:\n    resources: {}\n")
    with pytest.raises(LabError, match=r"remote.chdir: 'tests' must be an absolute path on the lab hosts"):
        load_lab(path)


def test_a_lab_host_that_refuses_ssh_fails_fast(pytester: pytest.Pytester, tmp_path: Path) -> None:
    need_sshd()
    with running_sshd(tmp_path / "sshd") as sshd:
        config = ssh_config(tmp_path, sshd, "127.0.0.1")
    # sshd has stopped: the port refuses
    (pytester.path / "lab.yaml").write_text(lab_text(config, pytester.path))
    pytester.makepyfile("import pytest\n\n@pytest.mark.hil('where=there')\ndef test_x(board):\n    pass\n")
    result = pytester.runpytest_subprocess("--hil-lab=lab.yaml", "--hil-dist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--hil-dist: lab host labhost: cannot start python over SSH (ssh=labhost//*"])


def test_a_lab_host_with_another_pytest_hil_version_fails_fast(pytester: pytest.Pytester, tmp_path: Path) -> None:
    need_sshd()
    fake = tmp_path / "fake-site"
    (fake / "pytest_hil-9.9.9.dist-info").mkdir(parents=True)
    (fake / "pytest_hil-9.9.9.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: pytest-hil\nVersion: 9.9.9\n"
    )
    python = tmp_path / "other-python"
    python.write_text(f'#!/bin/sh\nPYTHONPATH={fake} exec {sys.executable} "$@"\n')
    python.chmod(0o755)
    with running_sshd(tmp_path / "sshd") as sshd:
        config = ssh_config(tmp_path, sshd, "127.0.0.1")
        (pytester.path / "lab.yaml").write_text(lab_text(config, pytester.path).replace(sys.executable, str(python)))
        pytester.makepyfile("import pytest\n\n@pytest.mark.hil('where=there')\ndef test_x(board):\n    pass\n")
        result = pytester.runpytest_subprocess("--hil-lab=lab.yaml", "--hil-dist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--hil-dist: lab host labhost (*): pytest-hil 9.9.9 is installed there, 0.1.0 here"])


def test_path_arguments_reach_lab_host_workers_relative_to_the_rootdir(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """`pytest --hil-dist tests/` as people type it: xdist maps path arguments for remote workers onto
    rsync roots and ended in INTERNALERROR 'arg ... not relative to an rsync root'."""
    need_sshd()
    with running_sshd(tmp_path / "sshd") as sshd:
        config = ssh_config(tmp_path, sshd, "127.0.0.1")
        (pytester.path / "lab.yaml").write_text(lab_text(config, pytester.path))
        suite = pytester.mkdir("suite")
        (suite / "test_remote.py").write_text(TESTS.format(netns="", namespace_check=""))
        (suite / "test_other.py").write_text(
            "import pytest\n\n@pytest.mark.hil('where=there')\ndef test_not_selected(board):\n    pass\n"
        )
        by_folder = pytester.runpytest_subprocess("--hil-lab=lab.yaml", "--hil-dist", "suite", "-p", "no:cacheprovider")
        by_node = pytester.runpytest_subprocess(
            "--hil-lab=lab.yaml",
            "--hil-dist",
            f"{suite}/test_remote.py::test_on_the_lab_host",
            "-p",
            "no:cacheprovider",
        )
        outside = tmp_path / "elsewhere"
        outside.mkdir()
        (outside / "test_x.py").write_text(
            "import pytest\n\n@pytest.mark.hil('where=there')\ndef test_x(board):\n    pass\n"
        )
        refused = pytester.runpytest_subprocess(
            "--hil-lab=lab.yaml", "--hil-dist", f"--rootdir={pytester.path}", str(outside), "-p", "no:cacheprovider"
        )
    by_folder.assert_outcomes(passed=3)
    by_node.assert_outcomes(passed=1)
    assert "INTERNALERROR" not in by_folder.stdout.str() + by_folder.stderr.str()
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines([f"*--hil-dist: {outside} is outside the rootdir {pytester.path}*"])


PLAIN_LAB = """\
version: 1
remote: {python: python3, chdir: /srv/tests}
boards:
  sim-local:
    labels: {family: sim, where: here}
    resources:
      power: {driver: sim-power, boot_time: 0.1}
  sim-remote:
    labels: {family: sim, where: there}
    host: labhost
    resources:
      console: {driver: serial, port: /dev/ttyUSB-on-the-lab-host}
"""


def test_a_plain_run_never_drives_a_lab_hosts_board_from_here(pytester: pytest.Pytester) -> None:
    """Without --hil-dist, a board with host: is not opened here (its /dev/ttyUSB0 is on the lab host):
    tests other boards can serve use those; a test only it can serve stops the run, saying what to do."""
    (pytester.path / "lab.yaml").write_text(PLAIN_LAB)
    pytester.makepyfile(
        test_either="""
        import pytest

        @pytest.mark.hil("family=sim")
        def test_any_sim(board, power):
            assert board.name == "sim-local"

        @pytest.mark.hil("family=sim", each=True)
        def test_each(board, power):
            assert board.name == "sim-local"
        """
    )
    pytester.runpytest_subprocess("--hil-lab=lab.yaml", "test_either.py").assert_outcomes(passed=2)
    pytester.makepyfile(
        test_there="""
        import pytest

        @pytest.mark.hil("where=there")
        def test_on_the_lab_host(console):
            console.sendline("uname")
        """
    )
    result = pytester.runpytest_subprocess("--hil-lab=lab.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "*pytest-hil: test_there.py::test_on_the_lab_host: only sim-remote (host: labhost) can serve it, attached to a lab host",
        "*run with --hil-dist*",
    ])  # fmt: skip
    assert "ttyUSB" not in result.stdout.str() + result.stderr.str()  # never opened
    collected = pytester.runpytest_subprocess("--hil-lab=lab.yaml", "--collect-only", "-q")
    assert collected.ret == pytest.ExitCode.OK
