"""`hil web` as a viewer meets it: the real command in a subprocess, headless Chromium driven by
Playwright, other `hil` processes changing the lab while the page is open."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_hil.leases import HistoryEntry, Holder, open_store
from tests.conftest import REPO

EXAMPLE_LAB = REPO / "conftest_examples" / "lab.yaml"
TOKEN = "a-token-for-the-browser-tests-42"
#: Seconds a page is given to show a change (the promise is one second; the machine may be busy).
PATIENCE_MS = 5000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's, which `.ci/stand-ins` installs); skips without it (fails on CI)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        executable = None
    if executable is None:
        reason = "needs Debian's chromium and playwright (.ci/stand-ins and the test extra install them)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield launched
        launched.close()


@dataclass
class Dashboard:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[str]

    def hil(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest_hil.cli.main", "--lab", str(EXAMPLE_LAB), *args],
            env=self.env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Dashboard]]:
    """Start `hil web` on the example lab (a store of its own); stopped after the test."""
    env = {**os.environ, "HIL_LEASE_URL": f"sqlite://{tmp_path}/leases.db"}  # tokens: the test's XDG_STATE_HOME
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    started: list[subprocess.Popen[str]] = []

    def start(listen: str = "127.0.0.1:0", token: bool = True) -> Dashboard:
        command = [sys.executable, "-m", "pytest_hil.cli.main", "web", str(EXAMPLE_LAB), "--listen", listen]
        if token:
            command += ["--token-file", str(token_file)]
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("hil web: lab example-sim-lab at http://127.0.0.1:"), line
        return Dashboard(line.split(" at ")[1].split()[0], env, process)

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def held(board: str) -> str:
    return f'tr[data-board="{board}"][data-state="held"]'


def free(board: str) -> str:
    return f'tr[data-board="{board}"][data-state="free"]'


def test_the_board_list_shows_the_example_labs_boards_and_no_secret(
    browser: Any, serve: Callable[..., Dashboard]
) -> None:
    dashboard = serve()
    page = browser.new_page()
    page.goto(dashboard.url)
    assert [row.get_attribute("data-board") for row in page.query_selector_all("tr[data-board]")] == ["sim-a", "sim-b"]
    assert page.inner_text('tr[data-board="sim-a"]').startswith("sim-a\tfamily=simboard arch=arm64 display=hdmi")
    page.wait_for_selector("#live-status.live", timeout=PATIENCE_MS)
    page.goto(dashboard.url + "boards/sim-a")
    assert "password=***" in page.content() and "sim-a-pw" not in page.content()  # the example's default password
    assert page.locator("svg.chart rect.bar").count() == 24 + 30


def test_a_lease_taken_by_another_process_appears_without_a_reload(
    browser: Any, serve: Callable[..., Dashboard]
) -> None:
    dashboard = serve()
    page = browser.new_page()
    page.goto(dashboard.url)
    page.wait_for_selector("#live-status.live", timeout=PATIENCE_MS)
    page.evaluate("window.notReloaded = true")
    dashboard.hil("lease", "sim-b", "--for", "5m")
    page.wait_for_selector(held("sim-b"), timeout=PATIENCE_MS)
    assert page.inner_text('tr[data-board="sim-b"]').count("pid") == 1  # the holder, named
    dashboard.hil("release", "sim-b")
    page.wait_for_selector(free("sim-b"), timeout=PATIENCE_MS)
    assert page.evaluate("window.notReloaded") is True


def test_a_lease_that_expires_leaves_the_page_without_a_reload(browser: Any, serve: Callable[..., Dashboard]) -> None:
    dashboard = serve()
    page = browser.new_page()
    page.goto(dashboard.url)
    page.wait_for_selector("#live-status.live", timeout=PATIENCE_MS)
    page.evaluate("window.notReloaded = true")
    dashboard.hil("lease", "sim-a", "--for", "2s")  # nobody releases it: it runs out
    page.wait_for_selector(held("sim-a"), timeout=PATIENCE_MS)
    page.wait_for_selector(free("sim-a"), timeout=2000 + PATIENCE_MS)
    assert page.evaluate("window.notReloaded") is True


def test_times_are_shown_in_the_viewers_time_zone(browser: Any, serve: Callable[..., Dashboard]) -> None:
    dashboard = serve()
    dashboard.hil("lease", "sim-a", "--for", "5m")
    with open_store(dashboard.env["HIL_LEASE_URL"], lab="example-sim-lab") as store:
        since = store.holders()["sim-a"].since
    expected = {}
    for zone in ("Asia/Tokyo", "America/New_York"):
        from datetime import datetime
        from zoneinfo import ZoneInfo

        expected[zone] = datetime.fromtimestamp(since, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
        context = browser.new_context(timezone_id=zone)
        page = context.new_page()
        page.goto(dashboard.url)
        assert page.inner_text('tr[data-board="sim-a"] time') == expected[zone]  # rewritten by the page
        page.reload()  # the server has the zone from the page's cookie now
        assert page.inner_text('tr[data-board="sim-a"] time') == expected[zone]
        fragment = page.evaluate("""async () => (await fetch("/", {headers: {"X-HIL-Fragment": "1"}})).text()""")
        assert f">{expected[zone]}</time>" in fragment  # as drawn by the server, before any script runs
        context.close()
    assert expected["Asia/Tokyo"] != expected["America/New_York"]


def test_an_operator_with_the_token_force_releases_a_board_through_the_page(
    browser: Any, serve: Callable[..., Dashboard]
) -> None:
    dashboard = serve()
    dashboard.hil("lease", "sim-a", "--for", "5m")
    page = browser.new_page()
    page.goto(dashboard.url + "boards/sim-a")
    page.click("text=Sign in")
    page.fill('input[name="operator"]', "olga")
    page.fill('input[name="token"]', TOKEN)
    page.click('button:has-text("Sign in")')
    page.wait_for_url("**/boards/sim-a")
    page.fill('input[name="reason"]', "needed for a demo")
    page.click('button:has-text("Force release")')
    page.wait_for_selector("p.status .state.free", timeout=PATIENCE_MS)
    row = page.inner_text("table.history tbody tr")
    assert "forced" in row and "needed for a demo (by olga@127.0.0.1 pid " in row


def test_without_the_token_the_page_offers_no_action_and_the_server_refuses_one(
    browser: Any, serve: Callable[..., Dashboard]
) -> None:
    dashboard = serve(token=False)
    dashboard.hil("lease", "sim-a", "--for", "5m")
    page = browser.new_page()
    page.goto(dashboard.url + "boards/sim-a")
    assert page.locator("form.release").count() == 0 and "read-only" in page.inner_text("header")
    status = page.evaluate(
        """async () => (await fetch("/boards/sim-a/release", {method: "POST",
             headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "reason=mine&csrf=x"})).status"""
    )
    assert status == 403
    page.reload()
    assert page.locator("p.status .state.held").count() == 1


def test_wrong_token_is_refused_in_the_browser(browser: Any, serve: Callable[..., Dashboard]) -> None:
    dashboard = serve()
    page = browser.new_page()
    page.goto(dashboard.url + "login")
    page.fill('input[name="operator"]', "mallory")
    page.fill('input[name="token"]', "not-the-token-at-all")
    page.click('button:has-text("Sign in")')
    assert "wrong token" in page.inner_text(".problem")
    assert not [cookie for cookie in page.context.cookies() if cookie["name"] == "hil_operator"]


def test_filters_by_labels_and_state(browser: Any, serve: Callable[..., Dashboard]) -> None:
    dashboard = serve()
    dashboard.hil("lease", "sim-a", "--for", "5m")
    page = browser.new_page()
    page.goto(dashboard.url)
    page.fill('input[name="select"]', "arch=riscv64")
    page.click('button:has-text("Filter")')
    assert [row.get_attribute("data-board") for row in page.query_selector_all("tr[data-board]")] == ["sim-b"]
    page.goto(dashboard.url)
    page.select_option('select[name="state"]', "held")
    page.click('button:has-text("Filter")')
    assert [row.get_attribute("data-board") for row in page.query_selector_all("tr[data-board]")] == ["sim-a"]
    page.fill('input[name="select"]', "@arm")  # the lab file's named selector
    page.click('button:has-text("Filter")')
    assert "state=held" in page.url and "select=%40arm" in page.url
    assert [row.get_attribute("data-board") for row in page.query_selector_all("tr[data-board]")] == ["sim-a"]


def test_a_page_whose_server_went_away_reconnects_and_catches_up(browser: Any, serve: Callable[..., Dashboard]) -> None:
    first = serve()
    page = browser.new_page()
    page.goto(first.url)
    page.wait_for_selector("#live-status.live", timeout=PATIENCE_MS)
    first.process.terminate()
    first.process.wait(timeout=10)
    page.wait_for_selector("#live-status.down", timeout=PATIENCE_MS)
    first.hil("lease", "sim-a", "--for", "5m")  # changed while the page could not hear of it
    port = first.url.rsplit(":", 1)[1].strip("/")
    serve(listen=f"127.0.0.1:{port}")
    page.wait_for_selector("#live-status.live", timeout=3 * PATIENCE_MS)
    page.wait_for_selector(held("sim-a"), timeout=PATIENCE_MS)


def test_the_board_list_screenshot(browser: Any, serve: Callable[..., Dashboard], tmp_path: Path) -> None:
    """The README's picture (written to docs/images/ with HIL_WEB_SCREENSHOT=that path; else to tmp)."""
    dashboard = serve()
    with open_store(dashboard.env["HIL_LEASE_URL"], lab="example-sim-lab") as store:
        now = time.time()
        ci = Holder("ci", "runner-7", 4242, "CI_JOB_ID=1234")
        store.import_history([HistoryEntry("sim-b", ci, now - 900, now - 600, "broken", "no shell prompt on console")])
    dashboard.hil("lease", "sim-a", "--for", "2h")
    waiter = subprocess.Popen(  # a second request for sim-a waits in line
        [sys.executable, "-m", "pytest_hil.cli.main", "--lab", str(EXAMPLE_LAB), "lease", "sim-a", "--wait", "60"],
        env={**dashboard.env, "XDG_STATE_HOME": str(tmp_path / "other-user")}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(dashboard.url)
    page.wait_for_selector("#live-status.live", timeout=PATIENCE_MS)
    page.wait_for_selector('tr[data-board="sim-a"] td:last-child:has-text("1: ")', timeout=PATIENCE_MS)
    target = Path(os.environ.get("HIL_WEB_SCREENSHOT") or tmp_path / "boards.png")
    page.screenshot(path=str(target))
    waiter.terminate()
    waiter.wait(timeout=10)
    from PIL import Image

    with Image.open(target) as picture:
        assert picture.size == (1280, 800)
    assert page.locator('tr[data-state="broken"]').count() == 1 and page.locator(held("sim-a")).count() == 1
