"""Leases: hand-off latency and throughput, on SQLite and on a real PostgreSQL cluster.

- Hand-off: 10 processes take turns on one board, 100 times each (1,000 hand-offs); the latency is
  from one holder's release to the next holder's grant, from the holders' journal. Printed as
  p50/p99 (target: p99 < 50 ms), against a waiter that polls every second as
  `labgrid-client reserve --wait` does, measured in the same run.
- Throughput: acquire+release cycles per second with 1 and 20 processes, each on a board of its own
  (released by board, as sessions release; on PostgreSQL transactions on different boards then run
  side by side).
- History: acquire+release and hand-off with 100,000 ended leases in the history, as ratios against
  the same store with an empty history (target: within 1.2x).

    python bench/lease_handoff.py [--cycles 100] [--postgres-url URL]

Without --postgres-url a throwaway cluster is started when Debian's postgresql is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from pytest_hil.errors import LeaseTimeout
from pytest_hil.leases import HistoryEntry, Holder, open_store

HOLDER = Holder("bench", "bench", 1)


def take_turns(url: str, journal: str, cycles: int) -> None:
    """Hold the shared board `cycles` times; journal each grant and release (monotonic ns)."""
    store = open_store(url)
    out = os.open(journal, os.O_WRONLY | os.O_APPEND)
    for _ in range(cycles):
        grant = store.acquire([["b"]], HOLDER)
        os.write(out, f"grant {time.monotonic_ns()}\n".encode())
        os.write(out, f"release {time.monotonic_ns()}\n".encode())
        store.release(grant.token, board="b")


def handoffs(url: str, waiters: int, cycles: int) -> list[float]:
    """Seconds from each release to the next grant, with `waiters` processes taking turns."""
    with tempfile.NamedTemporaryFile(delete=False) as journal:
        path = journal.name
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=take_turns, args=(url, path, cycles)) for _ in range(waiters)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    events = sorted(
        (int(stamp), kind) for kind, stamp in (line.split() for line in Path(path).read_text().splitlines())
    )
    os.unlink(path)
    delays, released = [], None
    for stamp, kind in events:
        if kind == "release":
            released = stamp
        elif released is not None:
            delays.append((stamp - released) / 1e9)
            released = None
    return delays


def polling_handoffs(url: str, rounds: int) -> list[float]:
    """The baseline: a waiter that tries once a second."""
    store = open_store(url)
    delays = []
    for _ in range(rounds):
        grant = store.acquire([["p"]], HOLDER)
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        child = context.Process(target=_poll_once, args=(url, queue))
        child.start()
        queue.get()  # the poller found the board busy once: it sleeps now
        time.sleep(0.3)
        released = time.monotonic()
        store.release(grant.token)
        delays.append(queue.get() - released)
        child.join()
    return delays


def _poll_once(url: str, queue: multiprocessing.Queue[float]) -> None:
    store = open_store(url)
    told = False
    while True:
        try:
            grant = store.acquire([["p"]], Holder("poller", "bench", 2), timeout=0)
            break
        except LeaseTimeout:
            if not told:
                queue.put(0.0)
                told = True
            time.sleep(1.0)
    queue.put(time.monotonic())
    store.release(grant.token)


def cycle_on_own_board(url: str, index: int, seconds: float, counts: multiprocessing.Queue[int]) -> None:
    store = open_store(url)
    done, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        store.release(store.acquire([[f"own-{index}"]], HOLDER).token, board=f"own-{index}")  # as sessions do
        done += 1
    counts.put(done)


def throughput(url: str, processes: int, seconds: float = 3.0) -> float:
    context = multiprocessing.get_context("spawn")
    counts: multiprocessing.Queue[int] = context.Queue()
    workers = [context.Process(target=cycle_on_own_board, args=(url, i, seconds, counts)) for i in range(processes)]
    for worker in workers:
        worker.start()
    total = sum(counts.get() for _ in workers)
    for worker in workers:
        worker.join()
    return total / seconds


def cycle_cost(url: str, cycles: int = 300) -> float:
    """Mean seconds of one acquire+release on a board that has a history."""
    store = open_store(url)
    store.release(store.acquire([["b"]], HOLDER).token, board="b")  # connected, warm
    started = time.perf_counter()
    for _ in range(cycles):
        store.release(store.acquire([["b"]], HOLDER).token, board="b")
    store.close()
    return (time.perf_counter() - started) / cycles


def fill_history(url: str, rows: int, boards: int = 20) -> None:
    """`rows` ended leases spread over `boards` boards (board `b` among them), in one transaction."""
    now = time.time()
    entries = [
        HistoryEntry("b" if index % boards == 0 else f"h{index % boards}", HOLDER, now - 1e5 + index,
                     now - 1e5 + index + 0.5, "released" if index % 7 else "broken", None)
        for index in range(rows)
    ]  # fmt: skip
    with open_store(url) as store:
        store.import_history(entries)


def history_ratios(url: str, cycles: int) -> tuple[float, float, float, float]:
    """(acquire+release empty, with 100,000 rows, hand-off p50 empty, with 100,000 rows) in seconds."""
    empty_cycle = cycle_cost(url)
    empty_handoff = statistics.median(handoffs(url, 10, cycles))
    fill_history(url, 100_000)
    full_cycle = cycle_cost(url)
    full_handoff = statistics.median(handoffs(url, 10, cycles))
    return empty_cycle, full_cycle, empty_handoff, full_handoff


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
        yield started.url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=100, help="turns per process (10 processes)")
    parser.add_argument("--baseline-rounds", type=int, default=5)
    parser.add_argument("--postgres-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, postgres(args.postgres_url) as pg_url:
        stores = [("sqlite", f"sqlite://{folder}/leases.db")] + ([("postgresql", pg_url)] if pg_url else [])
        for name, url in stores:
            open_store(url)  # create the schema once, outside the timings
            delays = sorted(handoffs(url, 10, args.cycles))
            p50, p99 = statistics.median(delays), delays[max(int(len(delays) * 0.99) - 1, 0)]
            base = statistics.median(polling_handoffs(url, args.baseline_rounds))
            print(f"{name:10} {len(delays)} hand-offs among 10 processes: p50 {p50 * 1000:.1f} ms, "
                  f"p99 {p99 * 1000:.1f} ms (target p99 < 50 ms); 1 s polling waiter p50 {base * 1000:.0f} ms "
                  f"({base / p50:.0f}x slower)")  # fmt: skip
            one, twenty = throughput(url, 1), throughput(url, 20)
            print(f"{name:10} acquire+release: {one:.0f}/s with 1 process, {twenty:.0f}/s with 20 "
                  f"(ratio {twenty / one:.2f})")  # fmt: skip
        fresh = [("sqlite", f"sqlite://{folder}/history.db")] + ([("postgresql", pg_url)] if pg_url else [])
        for name, url in fresh:
            if name == "postgresql":
                url = _fresh_database(url)
            empty, full, empty_hand, full_hand = history_ratios(url, max(args.cycles // 5, 10))
            print(f"{name:10} with 100,000 history rows: acquire+release {full * 1000:.2f} ms vs {empty * 1000:.2f} ms "
                  f"empty ({full / empty:.2f}x), hand-off p50 {full_hand * 1000:.1f} ms vs {empty_hand * 1000:.1f} ms "
                  f"({full_hand / empty_hand:.2f}x; target within 1.2x)")  # fmt: skip


def _fresh_database(url: str) -> str:
    """A new, empty database on the same PostgreSQL server."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS hil_history_bench")
        admin.execute("CREATE DATABASE hil_history_bench")
    return url.rsplit("/", 1)[0] + "/hil_history_bench"


if __name__ == "__main__":
    main()
