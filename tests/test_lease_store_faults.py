"""A lease store that cannot be used is one clear line, once, in `hil` and in pytest; contention on a
fresh local store is waited out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_hil.leases import open_store
from tests.conftest import SIM_LAB

TESTS = """
import pytest

@pytest.mark.hil(board="sim-a")
def test_one(power):
    pass

@pytest.mark.hil(board="sim-b")
def test_two(power):
    pass

def test_without_a_board():
    pass
"""


def corrupt_store(tmp_path: Path) -> str:
    path = tmp_path / "leases.db"
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    return f"sqlite://{path}"


def test_a_damaged_store_is_one_line_in_hil(tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text(SIM_LAB)
    url = corrupt_store(tmp_path)
    for args in (["leases"], ["lease", "sim-a"], ["power", "sim-a", "status"], ["boards"]):
        run = subprocess.run(
            [sys.executable, "-m", "pytest_hil.cli.main", "--lab", str(lab), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "HIL_LEASE_URL": url, "XDG_STATE_HOME": str(tmp_path)},
        )
        assert "Traceback" not in run.stderr, args
        lines = run.stderr.strip().splitlines()
        assert (len(lines) == 1 and run.returncode == 1) or args == ["boards"], (args, run.stderr)
        assert f"lease store {url}: the file is damaged (" in run.stderr, args
        assert "move it away" in run.stderr


def fill(folder: Path) -> None:
    descriptor = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(descriptor, b"x" * 4096)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@pytest.mark.parametrize("kind", ["damaged", "unwritable", "read-only", "full", "unreachable"])
def test_an_unusable_store_is_said_once_and_fails_the_tests_needing_a_board(
    pytester: pytest.Pytester, tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    pytester.path.joinpath("lab.yaml").write_text(SIM_LAB)
    pytester.makepyfile(TESTS)
    if kind == "damaged":
        url = corrupt_store(tmp_path)
        said = ": the file is damaged"
    elif kind == "unwritable":
        (tmp_path / "a-file").write_text("")
        url = f"sqlite://{tmp_path}/a-file/leases.db"
        said = f": cannot create its folder ({tmp_path / 'a-file'} is not a folder)"
    elif kind in ("read-only", "full"):
        folder = request.getfixturevalue("small_filesystem")
        url = f"sqlite://{folder}/leases.db"
        open_store(url).close()  # a store with its schema, then the file system turns on it
        if kind == "read-only":
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
            said = ": cannot open it (unable to open database file)"
        else:
            fill(folder)
            said = ": cannot use it (disk I/O error): its file system may be full"
    else:
        url = "postgresql://hil@127.0.0.1:1/hil"
        said = " is unreachable: "
    result = pytester.runpytest_subprocess("--hil-lab=lab.yaml", f"--hil-lease-url={url}")
    result.assert_outcomes(passed=1, errors=2)
    output = result.stdout.str()
    assert "Traceback" not in output and "sqlite3." not in output
    assert output.count(f"pytest-hil: lease store {url}{said}") == 1
    assert output.count("pytest-hil: lease store") == 1
    assert output.count(f"lease store {url}{said}") == 3  # said once, then once in each failing test's report


def test_sessions_starting_together_on_a_fresh_store_wait_for_each_other(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.path.joinpath("lab.yaml").write_text(SIM_LAB)
    pytester.makepyfile(TESTS)
    url = f"sqlite://{tmp_path}/fresh/leases.db"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--hil-lab=lab.yaml", f"--hil-lease-url={url}"]
    for _ in range(2):
        runs = [
            subprocess.Popen(command, cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(6)
        ]
        outputs = [run.communicate(timeout=300)[0] for run in runs]
        assert [run.returncode for run in runs] == [0] * 6, [
            out for out in outputs if "unreachable" in out or "failed" in out
        ]
        (tmp_path / "fresh" / "leases.db").unlink()
