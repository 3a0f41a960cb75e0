"""Lease semantics, identical on SQLite (this host) and a real PostgreSQL cluster (a lab)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_hil.errors import LeaseError, LeaseLost, LeaseTimeout
from pytest_hil.leases import HeldLease, Holder, LeaseStore, Waiting, open_store
from tests.postgres_cluster import Cluster

ALICE = Holder("alice", "ci-1", 101, "CI_JOB_ID=7")
BOB = Holder("bob", "desk-2", 202)
CAROL = Holder("carol", "ci-3", 303)


@pytest.fixture
def store(url: str) -> Iterator[LeaseStore]:
    store = open_store(url, ttl=30)
    yield store
    store.close()


def in_thread(target: object) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []

    def run() -> None:
        try:
            out.append(target())  # type: ignore[operator]
        except Exception as error:
            out.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_a_held_board_is_not_given_to_anyone_else_and_the_wait_names_the_holder(store: LeaseStore) -> None:
    grant = store.acquire([["b1"]], ALICE)
    assert grant.boards == ("b1",)
    told: list[Waiting] = []
    with pytest.raises(LeaseTimeout) as raised:
        store.acquire([["b1"]], BOB, timeout=0.3, on_wait=told.append)
    assert str(raised.value) == "waited 0.3 s for b1; held: b1 by alice@ci-1 pid 101 (CI_JOB_ID=7)"
    assert told[0].holders[0].holder == ALICE and told[0].ahead == 0
    assert store.holders()["b1"].holder == ALICE
    assert store.queue_lengths() == {}  # the timed-out request left the queue


def test_release_hands_the_board_to_the_waiter(store: LeaseStore) -> None:
    grant = store.acquire([["b1"]], ALICE)
    thread, out = in_thread(lambda: store.acquire([["b1"]], BOB, timeout=10))
    while store.queue_lengths() != {"b1": 1}:
        time.sleep(0.01)
    assert store.release(grant.token) == ["b1"]
    thread.join()
    assert out[0].boards == ("b1",)  # type: ignore[union-attr]
    assert store.holders()["b1"].holder == BOB
    assert [(entry.holder, entry.outcome) for entry in store.history()] == [(ALICE, "released")]


def test_only_the_token_releases(store: LeaseStore) -> None:
    store.acquire([["b1"]], ALICE)
    assert store.release("not-the-token") == []
    assert store.holders()["b1"].holder == ALICE


def test_waiters_are_served_first_come_first_served(store: LeaseStore) -> None:
    first = store.acquire([["b1"]], ALICE)
    order: list[str] = []

    def wait_then_release(holder: Holder) -> None:
        grant = store.acquire([["b1"]], holder, timeout=20)
        order.append(holder.user)
        store.release(grant.token)

    bob, _ = in_thread(lambda: wait_then_release(BOB))
    while store.queue_lengths() != {"b1": 1}:
        time.sleep(0.01)
    carol, _ = in_thread(lambda: wait_then_release(CAROL))
    while store.queue_lengths() != {"b1": 2}:
        time.sleep(0.01)
    store.release(first.token)
    bob.join()
    carol.join()
    assert order == ["bob", "carol"]


def test_multi_board_requests_are_all_or_nothing_and_never_deadlock(store: LeaseStore) -> None:
    held = store.acquire([["a"], ["b"], ["c"]], ALICE)
    one, out_one = in_thread(lambda: store.acquire([["a"], ["b"]], BOB, timeout=20))
    while store.queue_lengths().get("a") != 1:
        time.sleep(0.01)
    two, out_two = in_thread(lambda: store.acquire([["b"], ["c"]], CAROL, timeout=20))
    while store.queue_lengths().get("c") != 1:
        time.sleep(0.01)
    store.release(held.token, board="c")  # c alone is free: carol still waits for b, holding nothing
    time.sleep(0.2)
    assert set(store.holders()) == {"a", "b"} and not out_two
    store.release(held.token)
    one.join()
    bob = out_one[0]
    assert bob.boards == ("a", "b")  # type: ignore[union-attr]
    store.release(bob.token)  # type: ignore[union-attr]
    two.join()
    assert out_two[0].boards == ("b", "c")  # type: ignore[union-attr]


def test_a_selector_request_takes_a_free_board_preferring_one_that_did_not_fail(store: LeaseStore) -> None:
    x = store.acquire([["x"]], ALICE)
    assert store.acquire([["x", "y", "z"]], BOB).boards == ("y",)
    store.release(x.token, outcome="broken", reason="shell unreachable")
    assert store.acquire([["x", "z"]], CAROL).boards == ("z",)  # x broke last time: tried last
    assert store.acquire([["x"]], CAROL).boards == ("x",)  # but still given when it is the only one


def test_force_release_is_recorded_and_the_holder_learns_before_its_next_action(store: LeaseStore) -> None:
    grant = store.acquire([["b1"]], ALICE, ttl=0.6)
    lease = HeldLease(store, grant, ttl=0.6)
    info = store.force_release("b1", "stuck since Friday", BOB)
    assert info is not None and info.holder == ALICE
    deadline = time.monotonic() + 10
    while not lease.lost and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(LeaseLost, match=r"lease on board b1 lost: b1: released by force \(stuck since Friday \(by bob"):
        lease.check("b1")
    entry = store.history()[0]
    assert (entry.outcome, entry.reason) == ("forced", "stuck since Friday (by bob@desk-2 pid 202)")
    lease.release()


def test_a_renewed_lease_outlives_its_ttl(store: LeaseStore) -> None:
    grant = store.acquire([["b1"]], ALICE, ttl=0.6)
    lease = HeldLease(store, grant, ttl=0.6)
    time.sleep(1.5)
    lease.check()
    assert store.holders()["b1"].holder == ALICE
    assert lease.release() == ["b1"]
    assert store.history()[0].outcome == "released"


HOLD_AND_DIE = """
import os, sys, time
from pytest_hil.leases import Holder, open_store
store = open_store(sys.argv[1], ttl=1.0)
store.acquire([["b1"]], Holder.this_process())
print("held", flush=True)
time.sleep(60)
"""


def test_a_holder_killed_with_sigkill_loses_the_board_within_the_ttl(url: str, store: LeaseStore) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_AND_DIE, url], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        holder.kill()
        holder.wait()
        grant = store.acquire([["b1"]], BOB, timeout=2.0)  # TTL (1 s) + 1 s, no human action
        assert grant.boards == ("b1",)
        assert store.history()[0].outcome == "expired"
    finally:
        holder.kill()


CONTEND = """
import os, sys, time
from pytest_hil.leases import Holder, open_store
url, journal, index, cycles = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
store = open_store(url, ttl=30)
board = f"b{index % 3}"
out = os.open(journal, os.O_WRONLY | os.O_APPEND)
for _ in range(cycles):
    grant = store.acquire([[board]], Holder.this_process(), timeout=120)  # a lost wake-up would time out
    os.write(out, f"{board} start {time.monotonic_ns()} {os.getpid()}\\n".encode())
    os.write(out, f"{board} end {time.monotonic_ns()} {os.getpid()}\\n".encode())
    store.release(grant.token)
"""


def test_twenty_processes_never_hold_a_board_together(url: str, store: LeaseStore, tmp_path: Path) -> None:
    """20 processes x 100 acquire/hold/release cycles on 3 boards; the holders' journal shows every
    board held by one process at a time, and every request was served (none waited out its timeout)."""
    journal = tmp_path / "journal"
    journal.write_text("")
    processes = [
        subprocess.Popen([sys.executable, "-c", CONTEND, url, str(journal), str(index), "100"],
                         stderr=subprocess.PIPE, text=True)
        for index in range(20)
    ]  # fmt: skip
    errors = [process.communicate(timeout=600)[1] for process in processes]
    assert [process.returncode for process in processes] == [0] * 20, errors
    events: dict[str, list[tuple[int, str, str]]] = {}
    for line in journal.read_text().splitlines():
        board, kind, stamp, pid = line.split()
        events.setdefault(board, []).append((int(stamp), kind, pid))
    assert sum(len(board_events) for board_events in events.values()) == 2 * 20 * 100
    for board, board_events in events.items():
        holder = None
        for _, kind, pid in sorted(board_events):
            if kind == "start":
                assert holder is None, f"{board}: {pid} started while {holder} held it"
                holder = pid
            else:
                assert holder == pid
                holder = None
    assert [entry.outcome for entry in store.history(limit=5000)] == ["released"] * 2000


def test_the_schema_is_versioned_and_a_newer_one_is_refused(url: str, store: LeaseStore) -> None:
    assert store.migrate() == 2  # idempotent
    store._transaction(lambda cursor, now: store._run(cursor, "UPDATE hil_meta SET value = '99'"))
    with pytest.raises(LeaseError, match=r"has schema version 99; this pytest-hil knows up to 2: upgrade"):
        open_store(url)


def test_a_version_1_store_is_upgraded_in_place_keeping_its_leases(url: str, store: LeaseStore) -> None:
    store.acquire([["b1"]], ALICE)

    def back_to_version_1(cursor: Any, now: float) -> None:
        store._run(cursor, "DROP INDEX hil_history_ended")
        store._run(cursor, "UPDATE hil_meta SET value = '1'")

    store._transaction(back_to_version_1)
    with open_store(url) as upgraded:  # creating the index again would fail if the step were skipped or run twice
        assert upgraded.migrate() == 2 and list(upgraded.holders()) == ["b1"]


def test_holder_names_the_ci_job_from_the_environment() -> None:
    holder = Holder.this_process({"GITHUB_RUN_ID": "4242"})
    assert holder.job == "GITHUB_RUN_ID=4242" and str(holder).endswith(" (GITHUB_RUN_ID=4242)")
    assert Holder.from_json(holder.to_json()) == holder


def test_a_holder_that_cannot_reach_the_store_learns_its_lease_is_gone(url: str, store: LeaseStore) -> None:
    """Renewals fail (the database went away): once the TTL has passed the lease counts as lost."""

    class Unreachable(LeaseStore):
        def renew(self, token: str, ttl: float | None = None) -> list[str]:
            raise LeaseError("connection refused")

    grant = store.acquire([["b1"]], ALICE, ttl=0.6)
    lease = HeldLease(Unreachable(store.backend, ttl=0.6), grant, ttl=0.6)
    deadline = time.monotonic() + 10
    while not lease.lost and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(LeaseLost, match=r"lease on board b1 lost: renewal failed for 0.6 s: connection refused"):
        lease.check()
    lease.stop.set()


def test_leases_survive_a_postgresql_restart(postgres: Cluster) -> None:
    """The database restarts while a lease is held and a waiter waits: the holder keeps its lease
    (renewed after reconnecting) or learns it lost it; never two holders; the waiter resumes."""
    import psycopg

    with psycopg.connect(postgres.url, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS hil_restart")
        admin.execute("CREATE DATABASE hil_restart")
    url = postgres.url.rsplit("/", 1)[0] + "/hil_restart"
    store = open_store(url)
    cluster = postgres
    grant = store.acquire([["b1"]], ALICE, ttl=3)
    lease = HeldLease(open_store(url, ttl=3), grant, ttl=3)
    waiter_store = open_store(url, ttl=3)
    thread, out = in_thread(lambda: waiter_store.acquire([["b1"]], BOB, timeout=60))
    while store.queue_lengths() != {"b1": 1}:
        time.sleep(0.01)
    cluster.restart(down_for=1.0)
    time.sleep(2.0)  # renewals happen every second: at least one after the restart
    holders = store.holders()
    assert list(holders) == ["b1"]
    assert holders["b1"].holder == (BOB if lease.lost else ALICE)  # one holder, whichever it is
    if not lease.lost:
        lease.check()
        assert not out  # the waiter still waits
        lease.release()
    thread.join(30)
    assert out and getattr(out[0], "boards", None) == ("b1",), out


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    with pytest.raises(LeaseError) as raised:
        open_store("postgresql://hil:s3cret@127.0.0.1:1/hil")
    message = str(raised.value)
    assert message.startswith("lease store postgresql://hil:***@127.0.0.1:1/hil is unreachable: ")
    assert "s3cret" not in message and "\n" not in message


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(LeaseError, match=r"lease store URL 'mysql://lab/hil': use sqlite:///PATH or postgresql://"):
        open_store("mysql://lab/hil")


def test_a_user_who_may_not_create_the_tables_is_told_what_to_grant(postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS hil_rights")
        admin.execute("CREATE DATABASE hil_rights")
        admin.execute("DROP ROLE IF EXISTS hil_reader")
        admin.execute("CREATE ROLE hil_reader LOGIN")
    url = postgres_url.replace("postgres@", "hil_reader@").rsplit("/", 1)[0] + "/hil_rights"
    with pytest.raises(LeaseError) as raised:
        open_store(url)
    assert "user hil_reader may not create the lease tables" in str(raised.value)
    assert "GRANT CREATE ON SCHEMA public TO hil_reader, or run `hil leases --init` once" in str(raised.value)


def test_labs_sharing_a_store_never_share_a_board(url: str) -> None:
    team_a, team_b, unnamed = open_store(url, 30, "team-a"), open_store(url, 30, "team b/2"), open_store(url, 30)
    try:
        a = team_a.acquire([["rpi-01"]], ALICE, timeout=0)
        b = team_b.acquire([["rpi-01"]], BOB, timeout=0)  # same board name, another lab: no collision
        c = unnamed.acquire([["rpi-01"]], CAROL, timeout=0)
        assert a.boards == b.boards == c.boards == ("rpi-01",)
        with pytest.raises(LeaseTimeout, match=r"waited 0 s for rpi-01; held: rpi-01 by alice@ci-1"):
            team_a.acquire([["rpi-01"]], BOB, timeout=0)
        assert {name: info.holder for name, info in team_a.holders().items()} == {"rpi-01": ALICE}
        assert {name: info.holder for name, info in team_b.holders().items()} == {"rpi-01": BOB}
        assert {name: info.holder for name, info in unnamed.holders().items()} == {"rpi-01": CAROL}
        assert team_b.force_release("rpi-01", "stuck", ALICE) is not None
        assert list(team_a.holders()) == ["rpi-01"] and team_b.holders() == {}
        assert [(entry.board, entry.outcome) for entry in team_b.history()] == [("rpi-01", "forced")]
        assert team_a.history() == [] and unnamed.history() == []
        assert team_a.release(a.token) == ["rpi-01"]
        assert team_a.token_of("rpi-01") is None and unnamed.token_of("rpi-01") == c.token
    finally:
        for store in (team_a, team_b, unnamed):
            store.close()


def test_history_pages_and_busy_time_come_from_the_store(store: LeaseStore) -> None:
    for _ in range(5):
        store.release(store.acquire([["x1"]], ALICE).token)
    store.release(store.acquire([["x2"]], BOB).token)
    everything = store.history(limit=10)
    assert len(everything) == 6
    assert store.history(limit=4) + store.history(limit=4, offset=4) == everything
    busy = store.busy_seconds(time.time() - 60)
    assert set(busy) == {"x1", "x2"} and all(0 <= seconds < 5 for seconds in busy.values())
    assert store.busy_seconds(time.time() + 60) == {}


def test_postgresql_changes_on_other_boards_run_while_one_board_is_locked(postgres_url: str) -> None:
    """Transactions lock the boards they touch (and share the store): a change on board a does not
    wait for one on board b, and one on board b waits for it; a change to the whole store waits too."""
    import zlib

    import psycopg

    from pytest_hil.leases.postgres import BOARD_LOCKS, LOCK_KEY

    store = open_store(postgres_url, ttl=30)
    other = psycopg.connect(postgres_url, autocommit=False)
    try:  # another transaction in the middle of a change on board b
        other.execute("SELECT pg_advisory_xact_lock_shared(%s)", (LOCK_KEY,))
        other.execute("SELECT pg_advisory_xact_lock(%s, %s)", (BOARD_LOCKS, zlib.crc32(b"lock-b") - 2**31))
        started = time.monotonic()
        grant = store.acquire([["lock-a"]], ALICE, timeout=5)
        assert time.monotonic() - started < 1.0
        store.release(grant.token, board="lock-a")

        done: list[float] = []

        def take_b() -> None:
            grant = open_store(postgres_url).acquire([["lock-b"]], ALICE, timeout=10)
            done.append(time.monotonic())
            open_store(postgres_url).release(grant.token, board="lock-b")

        waiting = threading.Thread(target=take_b)
        waiting.start()
        time.sleep(0.5)
        assert done == []  # board b waits for the other transaction
        holders_seen: list[object] = []
        whole = threading.Thread(target=lambda: holders_seen.append(open_store(postgres_url).holders()))
        whole.start()
        time.sleep(0.3)
        assert holders_seen == []  # and so does a look at the whole store
        ended = time.monotonic()
        other.rollback()
        waiting.join(10)
        whole.join(10)
        assert done and done[0] >= ended and holders_seen
    finally:
        other.close()
        store.close()
