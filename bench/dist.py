"""--hil-dist on four simulated boards: 200 tests of 10-200 ms with mixed needs (any board, one
family, one board), run twice (the second run knows the durations). Prints the schedule's makespan
(first test started to last test ended) over the lower bound (the larger of total duration / boards
and the longest test; target <= 1.15 once the durations are known), and where the rest of the run
goes: the start-up (pytest start to a test running on every worker) split into the controller's own
start, the collection pass that learns each test's boards, and the workers' start; and the shutdown
(last test ended to pytest's exit). Each run is measured in the same process as its bound.

    python bench/dist.py [--tests 200] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from plugin_overhead import private_state

BOARDS = 4
LAB = "version: 1\nleases: {ttl: 30}\nboards:\n" + "".join(
    f"  sim-{n}:\n    labels: {{family: {'even' if n % 2 == 0 else 'odd'}}}\n    resources:\n"
    f"      power: {{driver: sim-power, boot_time: 0.1}}\n      console: {{driver: sim-console, timeout: 5}}\n"
    for n in range(BOARDS)
)

JOURNAL_CONFTEST = """
import json, os, sys, time
import pytest

def _write(entry):
    with open(os.environ["HIL_BENCH_JOURNAL"], "a") as out:
        out.write(json.dumps(entry) + "\\n")

@pytest.fixture(autouse=True)
def _journal(request):
    started = time.time()
    yield
    _write({"test": request.node.nodeid, "worker": os.environ.get("PYTEST_XDIST_WORKER"),
            "start": started, "end": time.time()})

def pytest_configure(config):
    role = "worker" if hasattr(config, "workerinput") else "pass" if "--collect-only" in sys.argv else "controller"
    _write({"configured": role, "at": time.time()})

@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if "--collect-only" in sys.argv:
        _write({"pass_done": time.time()})
"""


def write_suite(folder: Path, tests: int, seed: int) -> list[float]:
    """The test module; returns each test's sleep."""
    rng = random.Random(seed)
    sleeps, lines = [], ["import time", "import pytest", ""]
    for index in range(tests):
        sleep = rng.uniform(0.01, 0.2)
        sleeps.append(sleep)
        need = rng.random()
        if need < 0.6:
            marker = ""
        elif need < 0.9:
            marker = f"@pytest.mark.hil('family={rng.choice(['even', 'odd'])}')\n"
        else:
            marker = f"@pytest.mark.hil(board='sim-{rng.randrange(BOARDS)}')\n"
        lines.append(f"{marker}def test_{index}(board):\n    time.sleep({sleep:.3f})\n")
    (folder / "test_mixed.py").write_text("\n".join(lines))
    return sleeps


def run(folder: Path, journal: Path) -> dict[str, float]:
    """The phases of one --hil-dist run, from the journal (seconds)."""
    journal.write_text("")
    started = time.time()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--hil-lab=lab.yaml", "--hil-dist", "test_mixed.py"],
        cwd=folder,
        check=True,
        stdout=subprocess.DEVNULL,
        env={**private_state(folder), "HIL_BENCH_JOURNAL": str(journal)},
    )
    finished = time.time()
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    tests = [entry for entry in entries if "test" in entry]
    first_per_worker: dict[str, float] = {}
    for entry in sorted(tests, key=lambda entry: entry["start"]):
        first_per_worker.setdefault(entry["worker"], entry["start"])
    configured = {entry["configured"]: entry["at"] for entry in entries if "configured" in entry}
    pass_done = next(entry["pass_done"] for entry in entries if "pass_done" in entry)
    first, last = min(entry["start"] for entry in tests), max(entry["end"] for entry in tests)
    return {
        "busy": sum(entry["end"] - entry["start"] for entry in tests),
        "schedule": last - first,
        "startup": max(first_per_worker.values()) - started,
        "controller": configured["controller"] - started,
        "pass": pass_done - configured["controller"],
        "workers": max(first_per_worker.values()) - pass_done,
        "shutdown": finished - last,
        "whole": finished - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "lab.yaml").write_text(LAB)
        (folder / "conftest.py").write_text(JOURNAL_CONFTEST)
        sleeps = write_suite(folder, args.tests, args.seed)
        journal = folder / "journal.jsonl"
        for label in ("first run (no durations known)", "second run (durations from the first)"):
            phase = run(folder, journal)
            bound = max(phase["busy"] / BOARDS, max(sleeps))
            print(f"{label}: schedule {phase['schedule']:.2f} s over a lower bound of {bound:.2f} s: "
                  f"{phase['schedule'] / bound:.2f} (target <= 1.15)")  # fmt: skip
            whole = phase["whole"]
            print(f"  start-up {phase['startup']:.2f} s (controller start {phase['controller']:.2f} s, collection "
                  f"pass {phase['pass']:.2f} s, workers start {phase['workers']:.2f} s), shutdown "
                  f"{phase['shutdown']:.2f} s; whole run {whole:.2f} s = {whole / bound:.2f} x bound")  # fmt: skip


if __name__ == "__main__":
    main()
