"""Plugin overhead per test: 1,000 tests asking for a sim board's resource fixture, against the same
1,000 tests asking for a plain pytest fixture of the same shape; plus collection time with and without
the plugin. Prints medians of interleaved runs and their ratio (target: under 0.5 ms per test).

    python bench/plugin_overhead.py [--tests 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAB = """\
version: 1
boards:
  sim-a:
    labels: {family: simboard}
    resources:
      power: {driver: sim-power}
      console: {driver: sim-console}
"""

# The same shape as the plugin's: a function-scoped fixture resolving a session-wide board object.
PLAIN_CONFTEST = """\
import pytest

class Board:
    def __init__(self):
        self.drivers = {}

    def resource(self, name):
        return self.drivers.setdefault(name, object())

_board = Board()

@pytest.fixture
def board():
    return _board

@pytest.fixture
def console(board):
    return board.resource("console")
"""


def write_suite(folder: Path, tests: int) -> None:
    folder.mkdir()
    body = "".join(f"def test_{index}(console):\n    pass\n\n\n" for index in range(tests))
    (folder / f"test_{folder.name}.py").write_text(body)


def private_state(folder: Path, bytecode: bool = True) -> dict[str, str]:
    """The environment with a state folder of the run's own: the bench's leases stay out of yours.
    `bytecode`: pytest may cache the modules it rewrites (as on most machines); without it (Docker
    images often set PYTHONDONTWRITEBYTECODE=1) it rewrites the plugin's modules in every run."""
    env = {**os.environ, "XDG_STATE_HOME": str(folder / "state")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env if bytecode else {**env, "PYTHONDONTWRITEBYTECODE": "1"}


def timed(args: list[str], cwd: Path, bytecode: bool = True) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, env=private_state(cwd, bytecode))  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "lab.yaml").write_text(LAB)
        write_suite(root / "hil", options.tests)
        write_suite(root / "plain", options.tests)
        (root / "plain" / "conftest.py").write_text(PLAIN_CONFTEST)
        runs: dict[str, list[float]] = {
            name: [] for name in ("hil", "plain", "collect-hil", "collect-plain", "nobytecode-hil", "nobytecode-plain")
        }
        for _ in range(options.rounds):
            runs["hil"].append(timed(["--hil-lab=lab.yaml", "hil"], root))
            runs["plain"].append(timed(["-p", "no:hil", "-p", "no:hil-dist", "plain"], root))
            runs["collect-hil"].append(timed(["--collect-only", "--hil-lab=lab.yaml", "hil"], root))
            runs["collect-plain"].append(timed(["--collect-only", "-p", "no:hil", "-p", "no:hil-dist", "plain"], root))
            runs["nobytecode-hil"].append(timed(["--collect-only", "--hil-lab=lab.yaml", "hil"], root, bytecode=False))
            runs["nobytecode-plain"].append(
                timed(["--collect-only", "-p", "no:hil", "-p", "no:hil-dist", "plain"], root, bytecode=False)
            )
    median = {name: statistics.median(values) for name, values in runs.items()}
    # run time = whole run minus collection, so interpreter start-up and collection cancel out
    hil_run = median["hil"] - median["collect-hil"]
    plain_run = median["plain"] - median["collect-plain"]
    per_test_ms = (hil_run - plain_run) / options.tests * 1000
    print(f"tests: {options.tests}, rounds: {options.rounds} (medians of interleaved runs)")
    print(f"run phase: plugin {hil_run:.3f} s, plain fixture {plain_run:.3f} s, ratio {hil_run / plain_run:.2f}")
    verdict = "OK" if per_test_ms < 0.5 else "MISSED"
    print(f"plugin overhead per test: {per_test_ms:.3f} ms (target < 0.5 ms): {verdict}")
    print(
        f"collection: with plugin {median['collect-hil']:.3f} s, without {median['collect-plain']:.3f} s, "
        f"ratio {median['collect-hil'] / median['collect-plain']:.2f} (target <= 1.15)"
    )
    print(
        f"collection with PYTHONDONTWRITEBYTECODE=1: with plugin {median['nobytecode-hil']:.3f} s, without "
        f"{median['nobytecode-plain']:.3f} s, ratio {median['nobytecode-hil'] / median['nobytecode-plain']:.2f}"
    )


if __name__ == "__main__":
    main()
