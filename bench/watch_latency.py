"""How soon `hil console --watch` shows a line after the session holding the console logged it.

A console log is written here a line at a time (as a session's `ConsoleLog` writes it, published in
the live folder); `hil console --watch` runs as a subprocess and each line's arrival on its output is
timed against the moment it was written. Baseline in the same run: `tail -f` on the same file (what a
user would otherwise do, knowing the path). Target: within 200 ms.

    python bench/watch_latency.py [--lines 40]
"""

from __future__ import annotations

import argparse
import os
import random
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_hil.console.log import ConsoleLog, Masker

LAB = """\
version: 1
boards:
  sim-a:
    resources:
      power: {driver: sim-power}
      console: {driver: sim-console}
"""


def delays(reader: subprocess.Popen[bytes], log: ConsoleLog, lines: int) -> list[float]:
    """Write `lines` lines to `log`; seconds until each shows on the reader's stdout."""
    assert reader.stdout is not None
    fd = reader.stdout.fileno()
    seen = b""
    result = []
    chance = random.Random(11)
    time.sleep(0.5)  # the reader is following
    for index in range(lines):
        marker = f"line-{index}-{time.monotonic_ns()}".encode()
        written = time.perf_counter()
        log.write(marker + b"\n")
        while marker not in seen:
            ready, _, _ = select.select([fd], [], [], 5)
            if not ready:
                raise RuntimeError(f"{marker!r} never arrived")
            seen += os.read(fd, 65536)
        result.append(time.perf_counter() - written)
        seen = b""
        time.sleep(chance.uniform(0.05, 0.3))  # lines come at any moment, not in step with the follower's looks
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=40)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        os.environ["HIL_LIVE_DIR"] = str(root / "live")
        (root / "lab.yaml").write_text(LAB)
        log = ConsoleLog("sim-a.console", root / "logs", Masker(()))
        environment = {**os.environ, "HIL_LEASE_URL": f"sqlite://{root}/leases.db"}
        hil = [sys.executable, "-m", "pytest_hil.cli.main", "--lab", str(root / "lab.yaml")]
        watch = subprocess.Popen([*hil, "console", "--watch", "sim-a"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, env=environment)  # fmt: skip
        logged = root / "logs" / "sim-a.console.log"
        tail = subprocess.Popen(["tail", "-n", "0", "-f", str(logged)], stdout=subprocess.PIPE)
        try:
            ours = sorted(delays(watch, log, options.lines))
            baseline = sorted(delays(tail, log, options.lines))
        finally:
            watch.kill()
            tail.kill()
            log.close()
    p50, worst = statistics.median(ours), ours[-1]
    base50 = statistics.median(baseline)
    print(f"hil console --watch: line shown after median {p50 * 1000:.0f} ms, worst {worst * 1000:.0f} ms "
          f"= {worst / 0.2:.2f} of the 200 ms target; tail -f (inotify) on the same file: median "
          f"{base50 * 1000:.1f} ms, worst {baseline[-1] * 1000:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
