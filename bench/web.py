"""The dashboard with a large lab: 500 boards, 200,000 ended leases, 100 held boards, on SQLite and a
throwaway PostgreSQL cluster.

Reports the median server time of the board list (`/`, target < 200 ms) and of a board page
(`/boards/NAME`, target < 100 ms) and of their JSON twins, each also as a ratio to a request that reads
nothing, measured in the same run (the stylesheet through the same app); and, with `hil web` running
as a subprocess, how long a lease taken by another process takes to reach an open event stream
(target: within 1 s).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests
from lease_handoff import _fresh_database, postgres
from starlette.testclient import TestClient

from pytest_hil.lab import Lab, load_lab
from pytest_hil.leases import HistoryEntry, Holder, LeaseStore, open_store
from pytest_hil.web.access import Access
from pytest_hil.web.app import create_app

BOARDS = 500
HISTORY = 200_000
HELD = 100
OUTCOMES = ["released"] * 16 + ["broken", "expired", "forced"]


def write_lab(folder: Path) -> Path:
    lines = ["version: 1", "name: big-lab", "boards:"]
    for index in range(BOARDS):
        lines += [
            f"  board-{index:03}:",
            f"    labels: {{family: f{index % 10}, arch: {'arm64' if index % 3 else 'riscv64'}, rack: r{index // 40}}}",
            "    resources:",
            "      power: {driver: sim-power}",
            "      console: {driver: sim-console}",
            "      pmic: {driver: sim-console, uart: 1}",
        ]
    path = folder / "big-lab.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def fill(store: LeaseStore, lab: Lab) -> None:
    """HISTORY ended leases over the last 60 days, then HELD boards held by this process."""
    boards = list(lab.boards)
    chance = random.Random(7)
    now = time.time()
    people = [Holder(f"user{index}", f"desk-{index}", 1000 + index) for index in range(30)]
    entries = []
    for index in range(HISTORY):
        start = now - 60 * 86400 + index * (60 * 86400 / HISTORY)
        holder, outcome = chance.choice(people), chance.choice(OUTCOMES)
        entries.append(HistoryEntry(boards[index % BOARDS], holder, start, start + 600, outcome, None))
    store.import_history(entries)
    for board in boards[:HELD]:
        store.acquire([[board]], chance.choice(people), ttl=3600)


def median_ms(action: Callable[[], object], rounds: int) -> float:
    action()  # warm
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def server_times(lab: Lab, store: LeaseStore, rounds: int) -> dict[str, float]:
    with TestClient(create_app(lab, store, Access(None)), base_url="http://127.0.0.1:8765") as web:

        def get(path: str) -> Callable[[], object]:
            def fetch() -> object:
                response = web.get(path)
                assert response.status_code == 200, (path, response.status_code)
                return response

            return fetch

        return {
            "baseline": median_ms(get("/static/hil.css"), rounds),
            "/": median_ms(get("/"), rounds),
            "/api/boards": median_ms(get("/api/boards"), rounds),
            "/boards/board-007": median_ms(get("/boards/board-007"), rounds),
            "/api/boards/board-007": median_ms(get("/api/boards/board-007"), rounds),
            "/history?page=100": median_ms(get("/history?page=100"), rounds),
        }


def live_latency(lab_path: Path, url: str, rounds: int) -> list[float]:
    """Seconds from a lease taken here to the event on an open stream of `hil web` (a subprocess)."""
    command = [sys.executable, "-m", "pytest_hil.cli.main", "web", str(lab_path), "--listen", "127.0.0.1:0"]
    server = subprocess.Popen(command, env={"HIL_LEASE_URL": url, "PATH": ""}, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    address = server.stdout.readline().split(" at ")[1].split()[0]
    events: list[float] = []
    arrived = threading.Condition()

    def listen() -> None:
        with requests.get(address + "events", stream=True, timeout=60) as stream:
            for line in stream.iter_lines():  # until the server stops and ends the stream
                if line.startswith(b"data:"):
                    with arrived:
                        events.append(time.perf_counter())
                        arrived.notify_all()

    threading.Thread(target=listen, daemon=True).start()
    time.sleep(1.0)
    delays = []
    holder = Holder("bench", "here", 1)
    try:
        with open_store(url, lab="big-lab") as store:
            for _ in range(rounds):
                seen = len(events)
                started = time.perf_counter()
                grant = store.acquire([["board-499"]], holder)
                with arrived:
                    arrived.wait_for(lambda seen=seen: len(events) > seen, timeout=10)
                delays.append(events[-1] - started if len(events) > seen else float("inf"))
                store.release(grant.token)
                time.sleep(0.3)  # the release's own event passes
    finally:
        server.terminate()
        server.wait(timeout=10)
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--postgres-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, postgres(args.postgres_url) as pg_url:
        lab = load_lab(write_lab(Path(folder)))
        stores = [("sqlite", f"sqlite://{folder}/leases.db")]
        stores += [("postgresql", _fresh_database(pg_url))] if pg_url else []
        for name, url in stores:
            with open_store(url, lab=lab.name) as store:
                started = time.perf_counter()
                fill(store, lab)
                print(f"{name:10} {BOARDS} boards, {HISTORY:,} history rows, {HELD} held (filled in "
                      f"{time.perf_counter() - started:.1f} s)")  # fmt: skip
                times = server_times(lab, store, args.rounds)
            base = times.pop("baseline")
            for path, ms in times.items():
                target = 200 if path in ("/", "/api/boards") else 100 if "boards/" in path else None
                verdict = f" (target < {target} ms: {'met' if ms < target else 'MISSED'})" if target else ""
                print(f"{name:10} {path:24} {ms:7.1f} ms = {ms / base:5.1f}x a request reading nothing "
                      f"({base:.1f} ms){verdict}")  # fmt: skip
            delays = sorted(live_latency(lab.path, url, 10))
            print(f"{name:10} lease -> open event stream: median {statistics.median(delays) * 1000:.0f} ms, "
                  f"max {delays[-1] * 1000:.0f} ms (target within 1 s)")  # fmt: skip


if __name__ == "__main__":
    main()
