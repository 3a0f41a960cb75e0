"""`hil flash`: an image onto a board's storage by hand, with progress, notes and clear failures."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hil.cli.main import main

WriteLab = Callable[..., Path]

LAB = """
version: 1
boards:
  sim-s:
    resources:
      power: {driver: sim-power, boot_time: 0.1}
      console: {driver: sim-console}
      storage: {driver: sim-storage, path: card.img}
    shell: {username: root, prompt: 'root@sim-s:\\S*# '}
  bare:
    resources:
      power: {driver: sim-power}
"""


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "fw.img.gz"
    path.write_bytes(gzip.compress(os.urandom(300_000) + bytes(2_000_000)))
    return path


def test_flash_writes_the_image_and_shows_progress(
    write_lab: WriteLab, image: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = write_lab(LAB)
    monkeypatch.setattr("pytest_hil.progress.DELAY", 0.0)
    assert main(["--lab", str(lab), "flash", "sim-s", str(image), "--verify"]) == 0
    assert (lab.parent / "card.img").read_bytes() == gzip.decompress(image.read_bytes())
    out, err = capsys.readouterr()
    assert out.startswith("sim-s: flashed fw.img.gz in ") and out.endswith(" s, verified\n")
    assert "flash sim-s storage: fw.img.gz [" + "#" * 30 + "] 100% 2 MiB of 2 MiB" in err


def test_flash_boot_powers_off_flashes_boots_and_logs_it_all(
    write_lab: WriteLab, image: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = write_lab(LAB)
    assert main(["--lab", str(lab), "flash", "sim-s", str(image), "--boot", "--log-dir", str(tmp_path / "logs")]) == 0
    log = (tmp_path / "logs" / "session" / "sim-s.console.log").read_text()
    steps = ["[hil] power off", "[hil] flash fw.img.gz ->", "[hil] flashed 2300000 bytes", "[hil] power on"]
    assert [log.index(step) for step in steps] == sorted(log.index(step) for step in steps)
    assert "sim-s: flashed fw.img.gz" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sim-s", "missing.img"], "hil: image missing.img does not exist\n"),
        (["nope", "IMAGE"], "hil: no board 'nope' in LAB (boards: sim-s, bare)\n"),
        (["bare", "IMAGE"], "hil: board bare has no resource called 'storage' and none implementing storage\n"),
        (["sim-s", "IMAGE", "--resource", "console"], "hil: sim-s.console is not storage (sim-console)\n"),
        (["sim-s", "IMAGE", "--resource", "disk"], "hil: board sim-s has no resource 'disk' (it has: power, "),
    ],
)
def test_flash_mistakes_are_one_clear_line(
    write_lab: WriteLab, image: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    lab = write_lab(LAB)
    args = [str(image) if arg == "IMAGE" else arg for arg in args]
    assert main(["--lab", str(lab), "flash", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith(message.replace("LAB", str(lab))) and "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--target", "/dev/vda"], "hil: --target cannot be used without --via"),
        (
            ["--via", "power", "--verify"],
            "hil: --verify cannot be used with --via (a flasher verifies and resets by itself)",
        ),
    ],
)
def test_flash_options_that_do_not_go_together_are_a_usage_error(
    write_lab: WriteLab, image: Path, capsys: pytest.CaptureFixture[str], extra: list[str], said: str
) -> None:
    assert main(["--lab", str(write_lab(LAB)), "flash", "sim-s", str(image), *extra]) == 2
    assert capsys.readouterr().err == said + "\n"


def test_flash_via_a_resource_that_is_no_flasher_says_so(
    write_lab: WriteLab, image: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--lab", str(write_lab(LAB)), "flash", "sim-s", str(image), "--via", "storage"]) == 1
    assert capsys.readouterr().err == "hil: sim-s.storage is not a flasher (sim-storage)\n"
