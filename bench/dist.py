"""--hil-dist on four simulated boards: 200 tests of 10-200 ms with mixed needs (any board, one
family, one board), run twice (the second run knows the durations). Prints the makespan over the
lower bound (the larger of total duration / boards and the longest test; target <= 1.15 once the
durations are known) and the start-up (pytest start to the first test on every worker), each run
measured in the same process as its bound.

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
import json, os, time
import pytest

@pytest.fixture(autouse=True)
def _journal(request):
    started = time.time()
    yield
    with open(os.environ["HIL_BENCH_JOURNAL"], "a") as out:
        out.write(json.dumps({"test": request.node.nodeid, "worker": os.environ.get("PYTEST_XDIST_WORKER"),
                              "start": started, "end": time.time()}) + "\\n")
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


def run(folder: Path, journal: Path) -> tuple[float, float, float]:
    """(makespan, start-up, total test time) of one --hil-dist run, from the journal."""
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
    first_per_worker = {}
    for entry in sorted(entries, key=lambda entry: entry["start"]):
        first_per_worker.setdefault(entry["worker"], entry["start"])
    startup = max(first_per_worker.values()) - started
    return finished - started, startup, sum(entry["end"] - entry["start"] for entry in entries)


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
            makespan, startup, busy = run(folder, journal)
            bound = max(busy / BOARDS, max(sleeps))
            test_phase = makespan - startup
            print(f"{label}: makespan {makespan:.2f} s, start-up {startup:.2f} s, tests {test_phase:.2f} s; "
                  f"lower bound {bound:.2f} s: tests / bound {test_phase / bound:.2f}, "
                  f"makespan / bound {makespan / bound:.2f} (target <= 1.15)")  # fmt: skip


if __name__ == "__main__":
    main()
