"""pytest and leases: boards leased at first need, waits that name the holder, timeouts, lost leases."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pytest_hil.leases import Holder, open_store

BOB = Holder("bob", "desk-2", 202)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path}/lab-leases.db"


def test_boards_are_leased_at_first_need_and_released_at_the_end(
    pytester: pytest.Pytester, sim_lab: Path, url: str
) -> None:
    pytester.makepyfile(
        f"""
        from pytest_hil.leases import open_store

        def test_a(board):
            holders = open_store({url!r}, lab='test-lab').holders()
            assert list(holders) == ["sim-a"] and holders["sim-a"].holder.pid > 0

        def test_nothing_more_is_leased_for_a_test_the_held_board_serves(board):
            assert list(open_store({url!r}, lab='test-lab').holders()) == ["sim-a"]

        def test_pmic(pmic):
            assert list(open_store({url!r}, lab='test-lab').holders()) == ["sim-a", "sim-b"]
        """
    )
    pytester.runpytest(f"--hil-lab={sim_lab}", f"--hil-lease-url={url}").assert_outcomes(passed=3)
    store = open_store(url, lab="test-lab")
    assert store.holders() == {}
    assert sorted((entry.board, entry.outcome) for entry in store.history()) == [
        ("sim-a", "released"),
        ("sim-b", "released"),
    ]


def test_a_busy_board_skips_after_the_lease_timeout_naming_the_holder(
    pytester: pytest.Pytester, sim_lab: Path, url: str
) -> None:
    open_store(url, lab="test-lab").acquire([["sim-a"], ["sim-b"]], BOB)
    pytester.makepyfile("def test_x(board):\n    pass\n")
    result = pytester.runpytest(f"--hil-lab={sim_lab}", f"--hil-lease-url={url}", "--hil-lease-timeout=0.3", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED * no board free: waited 0.3 s for one of sim-a, sim-b; held: sim-a by bob@desk-2 pid 202; sim-b *"]
    )


def test_a_waiting_session_says_who_holds_the_board_and_gets_it_when_released(
    pytester: pytest.Pytester, sim_lab: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(url, lab="test-lab")
    grant = store.acquire([["sim-a"]], BOB)
    monkeypatch.setenv("HIL_LEASE_URL", url)  # the environment names the store too
    releaser = threading.Timer(1.0, store.release, (grant.token,))
    releaser.start()
    pytester.makepyfile("def test_x(board):\n    assert board.name == 'sim-a'\n")
    result = pytester.runpytest(f"--hil-lab={sim_lab}", "--hil-board=sim-a")
    releaser.join()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["pytest-hil: waiting for board sim-a: held by bob@desk-2 pid 202 since *"])


def test_a_lease_lost_mid_session_fails_the_next_test_on_that_board_at_once_and_the_session_carries_on(
    pytester: pytest.Pytester, sim_lab: Path, url: str
) -> None:
    pytester.makepyfile(
        f"""
        import pytest
        from pytest_hil.leases import Holder, open_store

        pytestmark = pytest.mark.hil("family=simboard")

        def test_first(board):
            assert board.name == "sim-a"
            store = open_store({url!r}, lab='test-lab')
            store.force_release("sim-a", "needed for a demo", Holder("eve", "ops", 1))
            store.acquire([["sim-a"]], Holder("eve", "ops", 1))  # and taken at once

        def test_second(board):
            pass

        def test_third(board):
            assert board.name == "sim-b"

        def test_fourth(board):
            assert board.name == "sim-b"
        """
    )
    result = pytester.runpytest(f"--hil-lab={sim_lab}", f"--hil-lease-url={url}", "-rE")
    result.assert_outcomes(passed=3, errors=1)
    output = result.stdout.str()
    assert (
        output.count("lease on board sim-a lost: sim-a: released by force (needed for a demo (by eve@ops pid 1))") == 1
    )
    assert "During handling" not in output


def test_leases_are_released_when_the_run_is_interrupted(pytester: pytest.Pytester, sim_lab: Path, url: str) -> None:
    pytester.makepyfile("def test_x(board):\n    raise KeyboardInterrupt\n\ndef test_never_run(board):\n    pass\n")
    result = pytester.runpytest_subprocess(f"--hil-lab={sim_lab}", f"--hil-lease-url={url}")
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    assert result.ret == pytest.ExitCode.INTERRUPTED
    store = open_store(url, lab="test-lab")
    assert store.holders() == {}
    assert [(entry.board, entry.outcome) for entry in store.history()] == [("sim-a", "released")]


def test_asking_for_a_busy_board_without_waiting_keeps_the_boards_held(tmp_path: Path) -> None:
    """As the --hil-dist controller leases every board that is free now: a busy one is skipped, and the
    ones already leased stay leased (only a session that waits gives its boards back)."""
    from types import SimpleNamespace

    from pytest_hil.errors import LeaseTimeout
    from pytest_hil.plugin.session_leases import SessionLeases

    url = f"sqlite://{tmp_path}/leases.db"
    open_store(url).acquire([["b2"]], BOB)
    config = SimpleNamespace(pluginmanager=SimpleNamespace(get_plugin=lambda name: None), stash={})
    leases = SessionLeases(open_store(url), config, None, 30)  # type: ignore[arg-type]
    try:
        leases.hold(["b1"], timeout=0)
        with pytest.raises(LeaseTimeout):
            leases.hold(["b2"], timeout=0)
        assert list(leases.held) == ["b1"]
        assert set(open_store(url).holders()) == {"b1", "b2"}
    finally:
        leases.release_all({})
