"""The shape the code promises: the core plugin stands without `dist/` and without xdist."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SIM_LAB

SOURCE = Path(__file__).parent.parent / "src" / "pytest_hil"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_core_imports_nothing_of_dist_or_xdist() -> None:
    offenders = {}
    for path in SOURCE.rglob("*.py"):
        if "dist" in path.relative_to(SOURCE).parts[:1]:
            continue
        bad = {name for name in imported_modules(path) if name.split(".")[0] in ("xdist", "execnet")}
        bad |= {name for name in imported_modules(path) if name.startswith("pytest_hil.dist")}
        if bad or "workerinput" in path.read_text():
            offenders[str(path.relative_to(SOURCE))] = sorted(bad) or ["workerinput"]
    assert offenders == {}


def test_the_core_plugin_works_with_dist_deleted(pytester: pytest.Pytester, tmp_path: Path) -> None:
    copy = tmp_path / "site"
    shutil.copytree(SOURCE, copy / "pytest_hil", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.rmtree(copy / "pytest_hil" / "dist")
    pytester.path.joinpath("lab.yaml").write_text(SIM_LAB)
    pytester.makepyfile("def test_power(power):\n    power.cycle()\n    assert power.state() is True\n")
    drivers = Path(__file__).parent.parent / "drivers"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(copy), str(drivers)])}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:hil-dist", "-p", "no:xdist", "--hil-lab=lab.yaml", "-q"],
        cwd=pytester.path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert "1 passed" in result.stdout, result.stdout + result.stderr
    probe = subprocess.run(
        [sys.executable, "-c", "import pytest_hil, sys; print(pytest_hil.__file__)"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert probe.stdout.startswith(str(copy))


def test_the_plugin_without_a_lab_file_loads_no_lab_console_or_lease_code() -> None:
    """pytest loads the plugin in every run: one with no lab file pays for none of this."""
    script = (
        "import sys, pytest\n"
        "for name in ('session', 'selection', 'fixtures', 'report', 'junit', 'masking', 'header'):\n"
        "    __import__('pytest_hil.plugin.' + name)\n"
        "__import__('pytest_hil.dist.plugin')\n"
        "heavy = ('yaml', 'pexpect', 'psycopg', 'typing_extensions', 'pytest_hil.lab.load',\n"
        "         'pytest_hil.console.stream_console', 'pytest_hil.leases.store', 'hil_drivers')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
