"""Leases under faults, on SQLite and PostgreSQL: a frozen holder, a store away for longer than the
TTL, expired rows, killed waiters, churn around a waiter, and what a waiter is told."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pytest_hil.errors import LeaseLost, LeaseTimeout
from pytest_hil.leases import HeldLease, Holder, Waiting, open_store
from tests.conftest import SIM_LAB, dedent

BOB = Holder("bob", "desk-2", 202)
CAROL = Holder("carol", "ci-3", 303)

LAB = """
version: 1
leases: {ttl: 2}
boards:
  sim-a:
    resources:
      power: {driver: sim-power, boot_time: 0.1}
      console: {driver: sim-console, timeout: 5}
"""


def start_session(pytester: pytest.Pytester, url: str, *args: str) -> subprocess.Popen[str]:
    """A pytest session in its own process on the lab in pytester's folder and the store at `url`."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--hil-lab=lab.yaml", f"--hil-lease-url={url}"]
    return subprocess.Popen(
        [*command, *args], cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def outputs_of(sessions: list[subprocess.Popen[str]], timeout: float) -> list[str]:
    """What each session printed; all of them are ended, also when one hangs (a deadlock)."""
    try:
        return [session.communicate(timeout=timeout)[0] for session in sessions]
    finally:
        for session in sessions:
            session.kill()


def wait_until_stopped(pid: int, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "T":
            return
        time.sleep(0.05)
    raise AssertionError("the session never stopped")


def test_a_frozen_session_never_uses_a_board_someone_took_meanwhile(pytester: pytest.Pytester, url: str) -> None:
    pytester.path.joinpath("lab.yaml").write_text(dedent(LAB))
    pytester.makepyfile(
        """
        import os, signal

        def test_freezes(board):
            os.kill(os.getpid(), signal.SIGSTOP)  # a swapped-out or suspended CI runner

        def test_after_the_freeze(board):
            pass
        """
    )
    session = start_session(pytester, url, "-rA")
    store = open_store(url, lab=None)
    try:
        wait_until_stopped(session.pid)
        grant = store.acquire([["sim-a"]], BOB, timeout=10)  # the frozen session's lease expires
        time.sleep(1.0)
        session.send_signal(signal.SIGCONT)
        output = session.communicate(timeout=120)[0]
        assert list(store.holders()) == ["sim-a"] and store.holders()["sim-a"].holder == BOB
        store.release(grant.token)
    finally:
        session.kill()
        store.close()
    assert "PASSED test_a_frozen_session_never_uses_a_board_someone_took_meanwhile.py::test_freezes" in output
    assert "lease on board sim-a lost: not confirmed by the store for" in output
    assert "1 passed, 1 error" in output or "1 failed, 1 passed" in output, output


def block_store(url: str, seconds: float, postgres: object) -> threading.Thread:
    """Make the store unusable for `seconds`: an SQLite write lock held, or the PostgreSQL cluster stopped."""
    if url.startswith("sqlite"):

        def hold_lock() -> None:
            connection = sqlite3.connect(url.removeprefix("sqlite://"), isolation_level=None)
            connection.execute("BEGIN EXCLUSIVE")
            time.sleep(seconds)
            connection.execute("ROLLBACK")
            connection.close()

        thread = threading.Thread(target=hold_lock)
    else:
        thread = threading.Thread(target=postgres.restart, args=(seconds,))  # type: ignore[attr-defined]
    thread.start()
    return thread


def test_a_store_away_for_longer_than_the_ttl_stops_the_holder(url: str, request: pytest.FixtureRequest) -> None:
    postgres = request.getfixturevalue("postgres") if url.startswith("postgres") else None
    store = open_store(url, ttl=1.5)
    lease = HeldLease(store, store.acquire([["x1"]], BOB, ttl=1.5), 1.5)
    blocked = block_store(url, 4.0, postgres)
    try:
        time.sleep(1.5)  # renewals cannot reach the store
        with pytest.raises(LeaseLost, match=r"lease on board x1 lost: not confirmed by the store for 1\.\d s"):
            lease.check("x1")
    finally:
        blocked.join()
    other = open_store(url, ttl=1.5)
    try:
        assert other.acquire([["x1"]], CAROL, timeout=5).boards == ("x1",)
        with pytest.raises(LeaseLost):  # and it stays lost, whatever the renewal thread does now
            lease.check("x1")
    finally:
        lease.stop.set()
        other.close()
        store.close()


def test_a_renewal_confirms_only_an_unexpired_lease(url: str) -> None:
    store = open_store(url, ttl=0.5)
    try:
        grant = store.acquire([["x1"]], BOB, ttl=0.5)
        assert store.renew(grant.token, 0.5) == ["x1"]
        time.sleep(1.0)  # expired, and nobody has looked since: the row is still there
        assert store.renew(grant.token, 0.5) == []
        assert [(entry.board, entry.outcome) for entry in store.history()] == [("x1", "expired")]
    finally:
        store.close()


WAITER = """
import sys
from pytest_hil.leases import Holder, open_store
store = open_store(sys.argv[1], ttl=2)
print("waiting", flush=True)
store.acquire([["x1"]], Holder("dave", "desk-4", 404), ttl=3600)
print("granted", flush=True)
"""


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGHUP])
def test_a_killed_waiter_gives_up_its_place_within_the_ttl(url: str, how: signal.Signals) -> None:
    store = open_store(url, ttl=2)
    try:
        held = store.acquire([["x1"]], BOB)
        waiter = subprocess.Popen([sys.executable, "-c", WAITER, url], stdout=subprocess.PIPE, text=True)
        assert waiter.stdout is not None and waiter.stdout.readline() == "waiting\n"
        time.sleep(0.5)
        assert store.queue_lengths() == {"x1": 1}
        waiter.send_signal(how)
        waiter.wait(10)
        store.release(held.token)
        started = time.monotonic()
        assert store.acquire([["x1"]], CAROL, timeout=8).boards == ("x1",)
        assert time.monotonic() - started < 6  # the dead waiter's row lived max(ttl, 5) s, not the hour it asked for
    finally:
        store.close()


def test_a_waiter_keeps_its_place_while_the_store_churns(url: str) -> None:
    store = open_store(url, ttl=1)
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            grant = store.acquire([["x2"]], CAROL, timeout=5)
            time.sleep(0.02)
            store.release(grant.token)

    try:
        held = store.acquire([["x1"]], BOB)
        granted: list[str] = []
        first = threading.Thread(target=lambda: granted.append(str(store.acquire([["x1"]], CAROL, timeout=30).token)))
        first.start()
        time.sleep(0.5)
        churner = threading.Thread(target=churn)
        churner.start()
        time.sleep(7)  # longer than a waiter row lives unrenewed (5 s)
        late = threading.Thread(target=lambda: granted.append("late:" + store.acquire([["x1"]], BOB, timeout=30).token))
        late.start()
        time.sleep(0.5)
        store.release(held.token)
        first.join()
        late.join()
        stop.set()
        churner.join()
        assert not granted[0].startswith("late:"), "a later request was served before the first waiter"
    finally:
        stop.set()
        store.close()


def test_a_waiter_hears_about_its_own_boards_once_per_change(url: str) -> None:
    store = open_store(url, ttl=0.6)
    told: list[Waiting] = []
    try:
        held = HeldLease(store, store.acquire([["x1"]], BOB, ttl=0.6), 0.6)  # renews every 0.2 s
        other = store.acquire([["x9"]], BOB)
        blocker = threading.Thread(target=lambda: store.acquire([["x9"]], CAROL, timeout=5))
        blocker.start()  # a waiter for another board: not ahead of ours
        time.sleep(0.3)
        with pytest.raises(LeaseTimeout):
            store.acquire([["x1"]], CAROL, timeout=2, on_wait=told.append)
        store.release(other.token)
        blocker.join()
        held.release()
        assert [(len(waiting.holders), waiting.ahead) for waiting in told] == [(1, 0)]
    finally:
        store.close()


def test_polling_sqlite_waits_use_little_cpu(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/leases.db"
    store = open_store(url)
    store.acquire([["x1"]], BOB)
    before = os.times()
    with pytest.raises(LeaseTimeout):
        store.acquire([["x1"]], CAROL, timeout=3)
    after = os.times()
    cpu = (after.user - before.user) + (after.system - before.system)
    assert cpu < 0.3, f"{cpu:.2f} s of CPU for a 3 s wait"
    store.close()


THREE_BOARDS = """\
version: 1
name: mix
leases: {ttl: 3}
boards:
""" + "".join(
    f"  b{n}:\n    labels: {{slot: s{n}}}\n    resources:\n      console: {{driver: sim-console}}\n" for n in range(3)
)


@pytest.mark.parametrize("seed", [1])
def test_a_random_mix_of_sessions_never_shares_a_board_and_never_deadlocks(
    pytester: pytest.Pytester, url: str, seed: int
) -> None:
    import random

    rng = random.Random(seed)
    journal = pytester.path / "journal.txt"
    pytester.path.joinpath("lab.yaml").write_text(THREE_BOARDS)
    pytester.makeconftest(
        f"""
        import os, time
        import pytest

        @pytest.fixture(autouse=True)
        def _journal(request):
            if "boards" in request.fixturenames:
                names = sorted(b.name for b in request.getfixturevalue("boards").values())
            elif "board" in request.fixturenames:
                names = [request.getfixturevalue("board").name]
            else:
                names = []
            with open({str(journal)!r}, "a") as out:
                for name in names:
                    out.write(f"start {{name}} {{os.getpid()}} {{time.time_ns()}}\\n")
            yield
            with open({str(journal)!r}, "a") as out:
                for name in names:
                    out.write(f"end {{name}} {{os.getpid()}} {{time.time_ns()}}\\n")
        """
    )
    sessions = []
    for index in range(12):
        tests = []
        for number in range(4):
            if rng.random() < 0.4:
                first, second = rng.sample(range(3), 2)
                tests.append(
                    f"@pytest.mark.hil(roles={{'x': 'slot=s{first}', 'y': 'slot=s{second}'}})\n"
                    f"def test_{number}(boards):\n    time.sleep({rng.uniform(0.05, 0.3):.2f})\n"
                )
            else:
                tests.append(
                    f"@pytest.mark.hil('slot=s{rng.randrange(3)}')\n"
                    f"def test_{number}(board):\n    time.sleep({rng.uniform(0.05, 0.3):.2f})\n"
                )
        name = f"test_session_{index}.py"
        pytester.path.joinpath(name).write_text("import time\nimport pytest\n\n" + "\n".join(tests))
        sessions.append(start_session(pytester, url, name))
    for output in outputs_of(sessions, timeout=240):
        assert "4 passed" in output, output
    events = sorted(
        (int(stamp), kind, board, pid)
        for kind, board, pid, stamp in (line.split() for line in journal.read_text().splitlines())
    )
    using: dict[str, str] = {}
    for _, kind, board, pid in events:
        if kind == "start":
            assert board not in using, f"{board} used by {pid} while {using.get(board)} used it"
            using[board] = pid
        else:
            del using[board]


def test_two_sessions_each_holding_a_board_a_roles_test_needs_do_not_deadlock(
    pytester: pytest.Pytester, url: str
) -> None:
    pytester.path.joinpath("lab.yaml").write_text(SIM_LAB)
    for own in ("sim-a", "sim-b"):
        pytester.makepyfile(
            **{
                f"test_{own.replace('-', '_')}": f"""
                import time
                import pytest

                @pytest.mark.hil(board="{own}")
                def test_own(board):
                    time.sleep(1.5)  # the other session takes its own board meanwhile

                @pytest.mark.hil(roles={{"a": "arch=arm64", "b": "arch=riscv64"}})
                def test_both(boards):
                    assert sorted(board.name for board in boards.values()) == ["sim-a", "sim-b"]
                """
            }
        )
    sessions = [start_session(pytester, url, name) for name in ("test_sim_a.py", "test_sim_b.py")]
    outputs = outputs_of(sessions, timeout=90)
    for output in outputs:
        assert "2 passed" in output, output
    assert any("giving sim-" in output and "back while waiting" in output for output in outputs)
