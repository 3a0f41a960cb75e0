"""sim-video: the simulated board's display follows what it does, and shows what its shell wrote."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hil_drivers.sim.video import SimVideo
from pytest_hil.board import Board
from pytest_hil.console import StreamConsole
from pytest_hil.console.shell import console_shell
from pytest_hil.interfaces import Power
from pytest_hil.lab import load_lab

LAB = """
version: 1
boards:
  sim-v:
    resources:
      power: {driver: sim-power, boot_time: 1.0}
      console: {driver: sim-console, timeout: 5}
      hdmi: {driver: sim-video, width: 320, height: 240}
    shell: {username: root, prompt: 'root@sim-v:\\S*# '}
"""


@pytest.fixture
def board(write_lab: Callable[..., Path]) -> Iterator[Board]:
    lab = load_lab(write_lab(LAB))
    board = Board(lab.boards["sim-v"], lab.path.parent)
    yield board
    assert board.close() == []


def test_the_display_follows_the_board_from_off_to_a_shell(board: Board) -> None:
    power, console, hdmi = board.power, board.console, board.hdmi
    assert isinstance(power, Power) and isinstance(console, StreamConsole) and isinstance(hdmi, SimVideo)
    off = hdmi.snapshot()
    assert off.size == (320, 240) and off.getextrema() == ((0, 0), (0, 0), (0, 0))  # black
    power.on()
    console.expect("Starting kernel")
    splash = hdmi.snapshot()
    assert splash.getpixel((5, 5)) == (16, 64, 160) and splash.getpixel((160, 90)) == (240, 240, 240)
    console.expect("login: ")
    login = hdmi.wait_for_match(hdmi.snapshot(), timeout=2)  # steady
    assert login.getpixel((5, 5)) == (0, 120, 0)  # the login screen's title bar
    shell = console_shell(board)
    shell.connect()
    shell.run_check("echo 'Hello HDMI' > $HIL_SCREEN")
    text = hdmi.snapshot()
    assert text.getpixel((300, 230)) == (24, 24, 24)
    assert any(text.getpixel((x, y)) == (255, 255, 255) for x in range(16, 140) for y in range(16, 40))
    with pytest.raises(AssertionError, match=r"resource hdmi: the frame does not match"):
        hdmi.assert_matches(login, hash="colorhash", max_distance=0)
    power.off()
    assert hdmi.snapshot().getextrema() == ((0, 0), (0, 0), (0, 0))


def test_mismatch_pictures_are_attached_to_junit_and_the_html_report(
    pytester: pytest.Pytester, write_lab: Callable[..., Path]
) -> None:
    pytest.importorskip("pytest_html")
    lab = write_lab(LAB)
    pytester.makepyfile(
        """
        from PIL import Image

        def test_screen(power, hdmi):
            power.off()
            hdmi.assert_matches(Image.new("RGB", (320, 240), (255, 255, 255)), hash="colorhash", max_distance=0)
        """
    )
    result = pytester.runpytest(
        f"--hil-lab={lab}", "--hil-log-dir=logs", "--junitxml=report.xml", "--html=report.html", "-p", "pytest_html"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FrameMismatch: board sim-v, resource hdmi: the frame does not match the reference*"])
    import xml.etree.ElementTree as ET

    root = ET.parse(pytester.path / "report.xml").getroot()
    attached = [p.get("value") or "" for p in root.iter("property") if p.get("name") == "hil.attachment"]
    assert [Path(path).name for path in attached] == [
        f"hdmi-mismatch-1-{what}.png" for what in ("actual", "reference", "diff")
    ]
    assert all(Path(path).is_file() and "logs" in path for path in attached)
    html = (pytester.path / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3 or html.count("image/png") >= 3
