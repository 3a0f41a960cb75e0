"""Lease hand-off: from one process releasing a board to another process (already waiting) holding
it, on SQLite and on a real PostgreSQL cluster. Prints p50/p99 against a waiter that polls every
second, as `labgrid-client reserve --wait` does, measured in the same run (target: p99 < 50 ms).

    python bench/lease_handoff.py [--rounds 100] [--postgres-url URL]

Without --postgres-url a throwaway cluster is started when Debian's postgresql is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

from pytest_hil.leases import Holder, LeaseTimeout, open_store

WAITER = Holder("waiter", "bench", 2)
HOLDER = Holder("holder", "bench", 1)


def waiter(url: str, pipe: Connection, polling: bool) -> None:
    """Wait for the board each time asked; report when it was granted, then give it back."""
    store = open_store(url)
    while pipe.recv() == "wait":
        if polling:
            while True:
                try:
                    grant = store.acquire([["b"]], WAITER, timeout=0)
                    break
                except LeaseTimeout:
                    time.sleep(1.0)
        else:
            grant = store.acquire([["b"]], WAITER)
        pipe.send(time.time())
        store.release(grant.token)


def handoffs(url: str, rounds: int, polling: bool) -> list[float]:
    store = open_store(url)
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("fork").Process(target=waiter, args=(url, theirs, polling))
    child.start()
    delays = []
    for _ in range(rounds):
        grant = store.acquire([["b"]], HOLDER, timeout=30)
        ours.send("wait")
        time.sleep(0.05)  # the waiter is queued by now
        released = time.time()
        store.release(grant.token)
        delays.append(ours.recv() - released)
    ours.send("stop")
    child.join()
    return delays


def report(name: str, delays: list[float], baseline: list[float]) -> None:
    p50, p99 = statistics.median(delays), sorted(delays)[max(int(len(delays) * 0.99) - 1, 0)]
    base = statistics.median(baseline)
    print(f"{name:10} hand-off p50 {p50 * 1000:6.1f} ms, p99 {p99 * 1000:6.1f} ms (target p99 < 50 ms); "
          f"1 s polling waiter p50 {base * 1000:6.0f} ms: {base / p50:.0f}x slower")  # fmt: skip


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[str | None]:
    if url:
        yield url
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' cluster helper
    from tests.postgres_cluster import missing_parts, postgres_cluster

    if missing_parts():
        print(f"postgresql: skipped (needs {', '.join(missing_parts())})", file=sys.stderr)
        yield None
        return
    with postgres_cluster() as started:
        yield started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--baseline-rounds", type=int, default=5)
    parser.add_argument("--postgres-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, postgres(args.postgres_url) as pg_url:
        stores = [("sqlite", f"sqlite://{folder}/leases.db")] + ([("postgresql", pg_url)] if pg_url else [])
        for name, url in stores:
            delays = handoffs(url, args.rounds, polling=False)
            baseline = handoffs(url, args.baseline_rounds, polling=True)
            report(name, delays, baseline)


if __name__ == "__main__":
    main()
