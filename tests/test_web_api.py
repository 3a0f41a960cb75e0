"""`hil web` through its ASGI app (Starlette's test client), on SQLite and PostgreSQL: the JSON API,
the pages' data, filters, paging, the force-release action and its guards, secrets."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timezone
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pytest_hil.cli.main import main
from pytest_hil.lab import Lab, load_lab
from pytest_hil.leases import HistoryEntry, Holder, LeaseStore, open_store
from pytest_hil.web import usage
from pytest_hil.web.access import COOKIE, Access
from pytest_hil.web.app import create_app

TOKEN = "an-operator-token-0123456789"
ALICE = Holder("alice", "desk-1", 101, "CI_JOB_ID=77")
BOB = Holder("bob", "desk-2", 202)
LAB = """\
version: 1
name: web-lab
selectors:
  arm: "arch=arm64"
boards:
  sim-a:
    labels: {family: simboard, arch: arm64}
    resources:
      power: {driver: sim-power, boot_time: 0.1, password: "${SIM_PW}"}
      console: {driver: sim-console, timeout: 5}
  sim-b:
    labels: {family: simboard, arch: riscv64}
    resources:
      power: {driver: sim-power, boot_time: 0.1}
  sim-c:
    labels: {family: other, arch: arm64}
    resources:
      power: {driver: sim-power, boot_time: 0.1}
"""
SECRET = "hunter2-the-sim-password"


@pytest.fixture
def lab(write_lab: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Lab:
    monkeypatch.setenv("SIM_PW", SECRET)
    return load_lab(write_lab(LAB))


@pytest.fixture
def store(url: str, lab: Lab) -> Iterator[LeaseStore]:
    with open_store(url, lab=lab.name) as store:
        yield store


def client(lab: Lab, store: LeaseStore, token: str | None = None) -> TestClient:
    return TestClient(create_app(lab, store, Access(token)), base_url="http://127.0.0.1:8765")


def sign_in(web: TestClient, operator: str = "olga") -> str:
    response = web.post("/login", data={"operator": operator, "token": TOKEN, "next": "/"}, follow_redirects=False)
    assert response.status_code == 303
    return web.cookies[COOKIE]


def test_the_board_list_says_who_holds_what_who_waits_and_what_broke(lab: Lab, store: LeaseStore) -> None:
    store.acquire([["sim-a"]], ALICE)
    broken = store.acquire([["sim-b"]], BOB)
    store.release(broken.token, outcome="broken", reason="no shell prompt on console")
    waiting = Holder("carol", "desk-3", 303)
    import threading

    waiter = threading.Thread(target=lambda: store.acquire([["sim-a"]], waiting, timeout=3))
    waiter.start()
    while store.queue_lengths() != {"sim-a": 1}:
        time.sleep(0.02)
    with client(lab, store) as web:
        boards = web.get("/api/boards").json()
        page = web.get("/").text
    store.release(store.token_of("sim-a") or "")
    waiter.join()
    assert list(boards) == ["sim-a", "sim-b", "sim-c"]
    assert boards["sim-a"]["state"] == "held"
    assert boards["sim-a"]["holder"] == {
        "user": "alice", "host": "desk-1", "pid": 101, "job": "CI_JOB_ID=77", "text": "alice@desk-1 pid 101 (CI_JOB_ID=77)"
    }  # fmt: skip
    assert boards["sim-a"]["queue"] == 1 and boards["sim-a"]["waiting"][0]["user"] == "carol"
    assert boards["sim-b"]["state"] == "broken" and boards["sim-b"]["broken_reason"] == "no shell prompt on console"
    assert boards["sim-c"]["state"] == "free" and boards["sim-c"]["holder"] is None
    assert "alice@desk-1 pid 101 (CI_JOB_ID=77)" in page and "carol@desk-3 pid 303" in page
    assert "3 boards: 1 free, 1 held, 1 broken; 1 waiting" in page


def test_the_api_gives_what_hil_boards_and_hil_leases_json_give(
    lab: Lab, store: LeaseStore, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    grant = store.acquire([["sim-b"]], BOB)
    store.release(grant.token, outcome="broken", reason="kernel panic")
    store.acquire([["sim-a"]], ALICE)
    monkeypatch.setenv("HIL_LEASE_URL", url)
    assert main(["boards", str(lab.path), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert main(["leases", str(lab.path), "--history", "--json"]) == 0
    cli_history = json.loads(capsys.readouterr().out)
    with client(lab, store) as web:
        api = web.get("/api/boards").json()
        api_history = web.get("/api/history").json()["entries"]
    for name, status in api.items():
        assert {key: cli[name][key] for key in status} == status
    assert api["sim-b"]["state"] == "broken" and api_history == cli_history


def test_filters_by_label_selector_named_selector_and_state(lab: Lab, store: LeaseStore) -> None:
    store.acquire([["sim-c"]], ALICE)
    with client(lab, store) as web:
        assert list(web.get("/api/boards", params={"select": "family=simboard"}).json()) == ["sim-a", "sim-b"]
        assert list(web.get("/api/boards", params={"select": "@arm"}).json()) == ["sim-a", "sim-c"]
        assert list(web.get("/api/boards", params={"select": "arch=arm64", "state": "free"}).json()) == ["sim-a"]
        assert list(web.get("/api/boards", params={"state": "held"}).json()) == ["sim-c"]
        bad = web.get("/api/boards", params={"select": "arch=="})
        assert bad.status_code == 400 and "selector 'arch=='" in bad.json()["error"]
        page = web.get("/", params={"select": "arch=="})  # the page says why and shows every board
        assert page.status_code == 200 and "selector &#x27;arch==&#x27;" in page.text
        assert web.get("/", params={"state": "lost"}).status_code == 400


def test_a_board_page_has_its_history_failures_and_utilization(lab: Lab, store: LeaseStore) -> None:
    hour = 3600.0
    start = time.time() - 3 * 86400
    store.import_history(
        [
            HistoryEntry(
                "sim-a", ALICE, start + index * hour, start + (index + 0.5) * hour, outcome, f"ended {outcome}"
            )
            for index, outcome in enumerate(("released", "broken", "expired", "released"))
        ]
    )
    store.import_history(
        [HistoryEntry("sim-a", BOB, time.time() - 2 * hour, time.time() - 1.5 * hour, "released", None)]
    )
    store.acquire([["sim-a"]], BOB)
    with client(lab, store) as web:
        board = web.get("/api/boards/sim-a").json()
        page = web.get("/boards/sim-a").text
        assert web.get("/api/boards/nope").status_code == 404
        assert "no board &#x27;nope&#x27; in lab web-lab" in web.get("/boards/nope").text
    assert [entry["outcome"] for entry in board["history"]] == ["released", "released", "expired", "broken", "released"]
    assert board["failures"] == 2 and board["state"] == "held" and board["holder"]["user"] == "bob"
    assert len(board["utilization"]["hours"]) == 24 and len(board["utilization"]["days"]) == 30
    assert round(sum(bucket["share"] for bucket in board["utilization"]["hours"][:-1]), 3) == 0.5  # half an hour
    assert round(sum(bucket["share"] for bucket in board["utilization"]["days"]), 3) > 0.08  # 2.5 h over 3 days
    assert page.count('<rect class="bar"') == 24 + 30 and "<svg" in page
    assert '<b class="failures">2</b>' in page


def test_utilization_buckets_follow_the_viewers_hours_and_days() -> None:
    from zoneinfo import ZoneInfo

    now = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
    hours = usage.hours([(now - 1000, now - 400)], now, timezone.utc)  # 21:56:40 to 22:06:40
    assert hours[-1].start == 1_699_999_200.0 and hours[-1].length == 800.0  # 22:00 up to now
    assert round(hours[-1].share, 4) == 0.5 and round(hours[-2].share, 4) == round(200 / 3600, 4)
    assert all(bucket.share == 0 for bucket in hours[:-2]) and len(hours) == 24
    days_utc = usage.days([(now - 7200, now)], now, timezone.utc)
    days_tokyo = usage.days([(now - 7200, now)], now, ZoneInfo("Asia/Tokyo"))  # 07:13 on the 15th there
    assert days_utc[-1].start == 1_699_920_000.0 and round(days_utc[-1].share, 4) == 0.09
    assert days_tokyo[-1].start == 1_699_974_000.0  # midnight in Tokyo
    assert round(days_tokyo[-1].share * days_tokyo[-1].length) == 7200


def test_history_pages_and_filters_by_board_holder_and_outcome(lab: Lab, store: LeaseStore) -> None:
    for index in range(60):
        holder = ALICE if index % 2 else BOB
        grant = store.acquire([["sim-b" if index % 3 else "sim-a"]], holder)
        store.release(grant.token, outcome="broken" if index % 10 == 0 else "released")
    with client(lab, store) as web:
        first = web.get("/api/history").json()
        second = web.get("/api/history", params={"page": 2}).json()
        alice = web.get("/api/history", params={"holder": "alice"}).json()
        alice_at = web.get("/api/history", params={"holder": "alice@desk-1"}).json()
        nobody = web.get("/api/history", params={"holder": "alice@desk-2"}).json()
        wildcard = web.get("/api/history", params={"holder": "%"}).json()
        broken_a = web.get("/api/history", params={"outcome": "broken", "board": "sim-a"}).json()
        page = web.get("/history", params={"page": 2})
        assert web.get("/api/history", params={"board": "sim-z"}).status_code == 400
        assert web.get("/api/history", params={"outcome": "lost"}).status_code == 400
        assert web.get("/api/history", params={"page": "0"}).status_code == 400
    assert len(first["entries"]) == 50 and first["more"] and len(second["entries"]) == 10 and not second["more"]
    assert first["entries"][0]["ended"] >= first["entries"][-1]["ended"] >= second["entries"][0]["ended"]
    assert len(alice["entries"]) == 30 and all(entry["holder"].startswith("alice@") for entry in alice["entries"])
    assert alice_at["entries"] == alice["entries"] and nobody["entries"] == [] and wildcard["entries"] == []
    assert {(entry["board"], entry["outcome"]) for entry in broken_a["entries"]} == {("sim-a", "broken")}
    assert len(broken_a["entries"]) == 2  # broken every 10th, on sim-a every 3rd: leases 0 and 30
    assert 'rel="prev" href="/history?page=1"' in page.text


def test_no_secret_of_the_lab_file_is_ever_shown(lab: Lab, store: LeaseStore) -> None:
    grant = store.acquire([["sim-a"]], ALICE)
    store.release(grant.token, outcome="broken", reason=f"login failed with password {SECRET}")
    with client(lab, store) as web:
        bodies = [web.get(path).text for path in ("/", "/boards/sim-a", "/history", "/api/boards", "/api/history")]
        bodies.append(web.get("/api/boards/sim-a").text)
    assert all(SECRET not in body for body in bodies)
    assert "password=***" in bodies[1] and "login failed with password ***" in bodies[1]


def test_without_a_token_the_dashboard_is_read_only(lab: Lab, store: LeaseStore) -> None:
    store.acquire([["sim-a"]], ALICE)
    with client(lab, store) as web:
        page = web.get("/boards/sim-a").text
        refused = web.post("/boards/sim-a/release", data={"reason": "mine now", "csrf": "x"})
        login = web.get("/login")
    assert "Force release" not in page and "read-only" in page
    assert refused.status_code == 403 and login.status_code == 404
    assert list(store.holders()) == ["sim-a"]


def test_a_signed_in_operator_force_releases_a_board_and_the_history_names_them(lab: Lab, store: LeaseStore) -> None:
    store.acquire([["sim-a"]], ALICE)
    with client(lab, store, TOKEN) as web:
        assert "Sign in</a> to force-release it" in web.get("/boards/sim-a").text
        cookie = sign_in(web)
        page = web.get("/boards/sim-a").text
        assert "Force release" in page and "signed in as <b>olga</b>" in page
        csrf = page.split('name="csrf" value="')[1].split('"')[0]
        done = web.post(
            "/boards/sim-a/release", data={"reason": "needed for a demo", "csrf": csrf}, follow_redirects=False
        )
        assert done.status_code == 303 and done.headers["location"] == "/boards/sim-a"
        assert cookie and TOKEN not in cookie
    assert store.holders() == {}
    (entry,) = store.history()
    assert entry.outcome == "forced" and entry.reason is not None
    assert entry.reason.startswith("needed for a demo (by olga@testclient pid ") and entry.reason.endswith("(hil web))")


def test_forced_releases_need_the_token_a_fresh_form_and_this_site(lab: Lab, store: LeaseStore) -> None:
    store.acquire([["sim-a"]], ALICE)
    with client(lab, store, TOKEN) as web:
        wrong = web.post("/login", data={"operator": "mallory", "token": "guess-guess-guess-1", "next": "/"})
        assert wrong.status_code == 403 and COOKIE not in web.cookies and "wrong token" in wrong.text
        assert web.post("/login", data={"operator": "<script>", "token": TOKEN}).status_code == 200  # asked again
        assert COOKIE not in web.cookies
        no_cookie = web.post("/boards/sim-a/release", data={"reason": "r", "csrf": "x"})
        cookie = sign_in(web)
        csrf = Access(TOKEN).csrf_for(cookie)
        forged_csrf = web.post("/boards/sim-a/release", data={"reason": "r", "csrf": Access(TOKEN).csrf_for("x:y")})
        other_site = web.post(
            "/boards/sim-a/release", data={"reason": "r", "csrf": csrf}, headers={"Origin": "http://evil.example"}
        )
        fetch_site = web.post(
            "/boards/sim-a/release", data={"reason": "r", "csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"}
        )
        no_reason = web.post("/boards/sim-a/release", data={"reason": " ", "csrf": csrf})
        web.cookies.clear()
        web.cookies.set(COOKIE, "olga:" + "0" * 64)  # a name with a made-up MAC
        forged_cookie = web.post("/boards/sim-a/release", data={"reason": "r", "csrf": csrf})
    assert [response.status_code for response in (no_cookie, forged_csrf, other_site, fetch_site, forged_cookie)] == [
        403
    ] * 5
    assert no_reason.status_code == 400
    assert list(store.holders()) == ["sim-a"] and store.history() == []


def test_sign_in_goes_back_only_to_a_page_of_this_site(lab: Lab, store: LeaseStore) -> None:
    with client(lab, store, TOKEN) as web:
        for target, expected in (
            ("/boards/sim-a", "/boards/sim-a"),
            ("//evil.example/x", "/"),
            ("https://evil.example", "/"),
        ):
            response = web.post(
                "/login", data={"operator": "olga", "token": TOKEN, "next": target}, follow_redirects=False
            )
            assert response.headers["location"] == expected


def test_a_loopback_dashboard_answers_only_to_loopback_names(lab: Lab, store: LeaseStore) -> None:
    app = create_app(lab, store, Access(None), allowed_hosts=["127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://127.0.0.1:8765") as web:
        assert web.get("/").status_code == 200
        assert web.get("/", headers={"Host": "rebound.evil.example"}).status_code == 400
        headers = web.get("/").headers
    assert "script-src 'self'" in headers["content-security-policy"] and headers["x-frame-options"] == "DENY"


def test_hil_web_says_what_is_wrong_in_one_line(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HIL_LEASE_URL", f"sqlite://{tmp_path}/leases.db")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o644)
    cases = [
        (["--listen", "nowhere"], 2, "hil web: --listen 'nowhere': give HOST:PORT"),
        (
            ["--token-file", str(token_file)],
            1,
            f"--token-file {token_file}: readable by others (mode 644): chmod 600 it",
        ),
        (["--token-file", str(tmp_path / "missing")], 1, "cannot read it (No such file or directory)"),
    ]
    for extra, status, said in cases:
        assert main(["web", str(lab.path), *extra]) == status
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1 and "Traceback" not in err
    token_file.write_text("short\n")
    token_file.chmod(0o600)
    assert main(["web", str(lab.path), "--token-file", str(token_file)]) == 1
    assert "the token must be one line of at least 16 characters" in capsys.readouterr().err


def test_open_pages_are_woken_by_the_stores_signal_for_grants_queues_and_releases(
    lab: Lab, store: LeaseStore, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the half-second look turned into a 60 s one, every change still arrives at once: it is
    PostgreSQL's NOTIFY (or SQLite's data_version) that wakes the pages, for a grant too."""
    import asyncio
    import threading

    from pytest_hil.web import live

    monkeypatch.setattr(live, "LOOK_EVERY", 60.0)
    other = open_store(url, lab=lab.name)

    async def watch() -> list[str]:
        revisions = live.Revisions(open_store(url, lab=lab.name))
        revisions.start()
        await asyncio.sleep(0.3)  # watching
        seen = []
        waiter = threading.Thread(target=lambda: open_store(url, lab=lab.name).acquire([["sim-a"]], BOB, timeout=10))
        steps: list[tuple[str, Callable[[], object]]] = [
            ("granted", lambda: other.acquire([["sim-a"]], ALICE)),
            ("queued", waiter.start),
            ("forced, and the waiter served", lambda: other.force_release("sim-a", "demo", BOB)),
        ]
        for name, step in steps:
            before = revisions.revision
            await asyncio.to_thread(step)
            if await revisions.next(before, 10.0) > before:
                seen.append(name)
        waiter.join()
        revisions.stop()
        return seen

    assert asyncio.run(watch()) == ["granted", "queued", "forced, and the waiter served"]
    other.close()


def test_hil_web_stops_at_once_and_quietly_with_a_page_open(lab: Lab, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import threading

    import requests

    env = {**__import__("os").environ, "HIL_LEASE_URL": f"sqlite://{tmp_path}/leases.db"}
    command = [sys.executable, "-m", "pytest_hil.cli.main", "web", str(lab.path), "--listen", "127.0.0.1:0"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stderr is not None
    address = server.stdout.readline().split(" at ")[1].split()[0]
    opened = threading.Event()

    def follow() -> None:
        with requests.get(address + "events", stream=True, timeout=30) as stream:
            opened.set()
            for _ in stream.iter_lines():
                pass

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    assert opened.wait(10)
    server.send_signal(signal.SIGINT)
    assert server.wait(timeout=10) == 130  # as for Ctrl-C
    follower.join(timeout=10)
    assert not follower.is_alive()  # the stream was ended, not cut
    assert server.stderr.read() == ""


def test_a_bad_time_zone_cookie_means_utc(lab: Lab, store: LeaseStore) -> None:
    store.acquire([["sim-a"]], ALICE)
    since = store.holders()["sim-a"].since
    utc = time.strftime("%Y-%m-%d %H:%M", time.gmtime(since))
    with client(lab, store) as web:
        for value in ("..%2F..%2Fetc%2Fpasswd", "Not%2FA_Zone", "%00", ""):
            web.cookies.set("hil_tz", value)
            response = web.get("/")
            assert response.status_code == 200 and f">{utc}</time>" in response.text
