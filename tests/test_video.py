"""Video: the real ustreamer binary, a loopback snapshot server whose frames change, hashes, regions,
mismatch pictures, and the simulated board's display."""

from __future__ import annotations

import http.server
import io
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from hil_drivers.video.http import HttpSnapshot, Ustreamer
from hil_drivers.video.snapshots import FrameMismatch
from pytest_hil.board import Board
from pytest_hil.errors import DriverError


def screen(color: tuple[int, int, int], text: str = "", size: tuple[int, int] = (320, 240)) -> Image.Image:
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 120, 80), fill=(255, 255, 255))
    draw.text((30, 100), text, fill=(255, 255, 0), font_size=24)
    return image


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def ustreamer(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The real ustreamer, with no camera: it serves its --blank JPEG."""
    binary = shutil.which("ustreamer")
    if binary is None:
        reason = "ustreamer is not installed (apt-get install ustreamer)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    blank = tmp_path / "no-signal.jpg"
    screen((20, 40, 200), "NO SIGNAL").save(blank, quality=90)
    port = free_port()
    process = subprocess.Popen(
        [binary, "--device=/dev/hil-no-camera", f"--blank={blank}", "--host=127.0.0.1", f"--port={port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield url, blank
    process.terminate()
    process.wait()


def test_ustreamer_state_and_snapshot(make_board: Callable[[str], Board], ustreamer: tuple[str, Path]) -> None:
    url, blank = ustreamer
    board = make_board(f"      video: {{driver: ustreamer, url: '{url}'}}\n")
    video = board.video
    assert isinstance(video, Ustreamer)
    state = video.state()
    assert state["source"]["resolution"] == {"width": 320, "height": 240} and state["source"]["online"] is False
    frame = video.snapshot()
    assert frame.size == (320, 240) and frame.format == "JPEG"
    video.assert_matches(blank)  # ustreamer re-encodes the JPEG: a hash compare, not a byte compare
    video.assert_matches(blank, hash="colorhash", max_distance=2)


def test_a_mismatch_saves_actual_reference_and_difference(
    make_board: Callable[[str], Board], ustreamer: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = ustreamer
    board = make_board(f"video: {{driver: ustreamer, url: '{url}'}}", tmp_path / "artifacts")
    video = board.video
    assert isinstance(video, Ustreamer)
    reference = tmp_path / "login.png"
    screen((0, 0, 0), "login:").save(reference)
    with pytest.raises(FrameMismatch) as raised:
        video.assert_matches(reference, hash="colorhash", max_distance=1)
    message = str(raised.value)
    assert message.startswith("board b, resource video: the frame does not match the reference: colorhash distance ")
    assert "> 1; saved video-mismatch-" in message
    saved = board.logs.attachments
    assert [path.name.rsplit("-", 1)[1] for path in saved] == ["actual.png", "reference.png", "diff.png"]
    assert all(path.parent == tmp_path / "artifacts" for path in saved)
    actual, expected, diff = (Image.open(path) for path in saved)
    assert actual.size == expected.size == (320, 240) and diff.size == (960, 260)
    assert actual.convert("RGB").getpixel((200, 200))[2] > 150  # the blue no-signal screen
    assert expected.convert("RGB").getpixel((200, 200)) == (0, 0, 0)


class FrameServer:
    """A loopback HTTP server answering with whatever frame the test sets."""

    def __init__(self) -> None:
        self.frame = b""
        self.status = 200
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(outer.status)
                self.send_header("Content-Type", "image/png" if outer.status == 200 else "text/plain")
                self.end_headers()
                self.wfile.write(outer.frame if outer.status == 200 else b"no frame")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/frame.png"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def show(self, image: Image.Image) -> None:
        out = io.BytesIO()
        image.save(out, "PNG")
        self.frame = out.getvalue()


@pytest.fixture
def frames() -> Iterator[FrameServer]:
    server = FrameServer()
    yield server
    server.server.shutdown()


def snapshot_video(make_board: Callable[[str], Board], url: str) -> HttpSnapshot:
    video = make_board(f"      video: {{driver: http-snapshot, url: '{url}'}}\n").video
    assert isinstance(video, HttpSnapshot)
    return video


def test_wait_for_match_sees_the_frame_change(make_board: Callable[[str], Board], frames: FrameServer) -> None:
    video = snapshot_video(make_board, frames.url)
    boot, login = screen((16, 64, 160), "booting"), screen((0, 0, 0), "login:")
    frames.show(boot)
    threading.Timer(0.5, frames.show, (login,)).start()
    seen = video.wait_for_match(login, timeout=5, hash="colorhash", max_distance=1, interval=0.05)
    assert seen.getpixel((300, 200)) == (0, 0, 0)
    with pytest.raises(FrameMismatch, match=r"does not match the reference within 0.3 s: colorhash distance \d+ > 1"):
        video.wait_for_match(boot, timeout=0.3, hash="colorhash", max_distance=1, interval=0.05)


@pytest.mark.parametrize("kind", ["phash", "ahash", "dhash", "whash", "colorhash"])
def test_every_hash_tells_a_different_screen_apart(
    make_board: Callable[[str], Board], frames: FrameServer, kind: str
) -> None:
    video = snapshot_video(make_board, frames.url)
    shown = screen((0, 0, 0), "login:")
    other = Image.new("RGB", (320, 240), (230, 230, 230))
    ImageDraw.Draw(other).ellipse((100, 60, 300, 230), fill=(200, 0, 0))
    frames.show(shown)
    video.assert_matches(shown, hash=kind, max_distance=0)  # type: ignore[arg-type]
    with pytest.raises(FrameMismatch, match=f": {kind} distance "):
        video.assert_matches(other, hash=kind, max_distance=2)  # type: ignore[arg-type]


def test_a_region_compares_only_that_part_of_the_screen(
    make_board: Callable[[str], Board], frames: FrameServer
) -> None:
    video = snapshot_video(make_board, frames.url)
    shown = screen((0, 0, 0), "12:00")
    reference = shown.copy()
    ImageDraw.Draw(reference).rectangle((160, 0, 320, 240), fill=(0, 200, 0))  # the right half differs
    frames.show(shown)
    video.assert_matches(reference, region=(0, 0, 150, 240), hash="colorhash", max_distance=0)
    with pytest.raises(FrameMismatch, match=r"in region \(150, 0, 320, 240\)"):
        video.assert_matches(reference, region=(150, 0, 320, 240), hash="colorhash", max_distance=1)


def test_a_snapshot_url_that_fails_or_sends_no_image_is_a_clear_error(
    make_board: Callable[[str], Board], frames: FrameServer
) -> None:
    video = snapshot_video(make_board, frames.url)
    frames.status = 404
    with pytest.raises(DriverError, match=rf"resource video: GET {frames.url}: HTTP 404 'no frame'"):
        video.snapshot()
    frames.status, frames.frame = 200, b"<html>login page</html>"
    with pytest.raises(DriverError, match=rf"GET {frames.url}: not an image \(image/png, 23 bytes\)"):
        video.snapshot()


def test_a_reference_that_does_not_exist_names_board_resource_and_file(
    make_board: Callable[[str], Board], frames: FrameServer, tmp_path: Path
) -> None:
    video = snapshot_video(make_board, frames.url)
    frames.show(screen((0, 0, 0)))
    with pytest.raises(
        DriverError, match=rf"board b, resource video: reference image {tmp_path}/nope.png: .*No such file"
    ):
        video.assert_matches(tmp_path / "nope.png")
