"""hil snapshot: a frame of a board's video output, saved in the format its file name asks for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from pytest_hil.cli.main import main

LAB = """\
version: 1
name: video-lab
boards:
  sim-a:
    resources:
      power: {driver: sim-power, boot_time: 0.1}
      console: {driver: sim-console, timeout: 5}
      hdmi: {driver: sim-video}
      hdmi2: {driver: sim-video, width: 320, height: 240}
  sim-b:
    resources:
      power: {driver: sim-power, boot_time: 0.1}
      hdmi: {driver: sim-video}
"""


@pytest.fixture
def lab(write_lab: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HIL_LEASE_URL", f"sqlite://{tmp_path}/leases.db")
    monkeypatch.chdir(tmp_path)
    return str(write_lab(LAB))


def test_a_frame_is_saved_as_png_by_default_named_for_board_resource_and_time(
    lab: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--lab", lab, "snapshot", "sim-b"]) == 0
    (saved,) = tmp_path.glob("sim-b-hdmi-*.png")
    with Image.open(saved) as frame:
        assert frame.format == "PNG" and frame.size == (640, 480)
    assert capsys.readouterr().out == f"sim-b.hdmi: 640x480 frame saved to {saved.name}\n"


def test_the_resource_and_the_file_name_choose_what_and_how(lab: str, tmp_path: Path) -> None:
    assert main(["--lab", lab, "snapshot", "sim-a", "hdmi2", str(tmp_path / "small.jpg")]) == 0
    assert main(["--lab", lab, "snapshot", "sim-a", "hdmi", "-o", str(tmp_path / "big.bmp")]) == 0
    assert main(["--lab", lab, "snapshot", "sim-b", "out.png"]) == 0  # the contract's form: BOARD OUT.png
    with Image.open(tmp_path / "small.jpg") as small, Image.open(tmp_path / "big.bmp") as big:
        assert (small.format, small.size, big.format, big.size) == ("JPEG", (320, 240), "BMP", (640, 480))
    assert (tmp_path / "out.png").stat().st_size > 0
    assert not list(tmp_path.glob(".*.partial"))


@pytest.mark.parametrize(
    ("arguments", "status", "said"),
    [
        (["sim-a"], 1, "hil: board sim-a has several Video resources (hdmi, hdmi2): name one"),
        (["sim-a", "console"], 1, "hil: board sim-a, resource console (sim-console) is not a Video"),
        (
            ["sim-b", "out.txt", "-o", "x.gif2"],
            2,
            "hil snapshot: x.gif2: name the file with an image format's extension, e.g. .png",
        ),
        (["sim-b", "nowhere/out.png"], 1, "hil snapshot: nowhere/out.png: its folder nowhere does not exist"),
        (
            ["sim-b", "hdmi", "hdmi2", "x.png"],
            2,
            "hil snapshot: 'hdmi2': give at most one resource and one output file",
        ),
        (["sim-z"], 1, "hil: no board 'sim-z' in "),
    ],
)
def test_mistakes_are_one_line(
    lab: str, arguments: list[str], status: int, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--lab", lab, "snapshot", *arguments]) == status
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err
    assert err.count("\n") == 1 or "virtual board" in err
