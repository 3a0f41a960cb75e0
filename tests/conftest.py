"""Shared fixtures: lab files for pytester runs and the simulated boards behind them."""

from __future__ import annotations

import textwrap
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
