"""http-server: files boards fetch, served from a folder over real HTTP (requests, and curl as a board's
own client would), with Range requests, large files streamed, and nothing outside the folder."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from hil_drivers.servers.http import HttpServer
from pytest_hil.board import Board
from pytest_hil.errors import DriverError


def server(make_board: Callable[[str], Board], options: str = "") -> HttpServer:
    board = make_board(f"files: {{driver: http-server{options}}}")
    driver = board.resource("files")
    assert isinstance(driver, HttpServer)
    return driver


def test_put_gives_a_url_the_file_is_fetched_from(make_board: Callable[[str], Board], tmp_path: Path) -> None:
    files = server(make_board)
    image = tmp_path / "kernel.img"
    image.write_bytes(bytes(range(256)) * 64)
    url = files.put(image)
    assert url == f"{files.address}/kernel.img" and url.startswith("http://127.0.0.1:")
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200 and answer.content == image.read_bytes()
    assert answer.headers["Accept-Ranges"] == "bytes"
    renamed = files.put(image, "boot/zImage")
    assert requests.get(renamed, timeout=10).content == image.read_bytes()
    notes = "\n".join(files.context.logs.notes)
    assert "[hil] http GET /kernel.img -> 200 (127.0.0.1)" in notes


def test_range_requests(make_board: Callable[[str], Board], tmp_path: Path) -> None:
    files = server(make_board)
    data = bytes(range(256)) * 4
    (tmp_path / "blob").write_bytes(data)
    url = files.put(tmp_path / "blob")
    for asked, body, content_range in (
        ("bytes=0-9", data[:10], "bytes 0-9/1024"),
        ("bytes=1000-", data[1000:], "bytes 1000-1023/1024"),
        ("bytes=-24", data[-24:], "bytes 1000-1023/1024"),
        ("bytes=1020-5000", data[1020:], "bytes 1020-1023/1024"),
    ):
        answer = requests.get(url, headers={"Range": asked}, timeout=10)
        assert (answer.status_code, answer.content, answer.headers["Content-Range"]) == (206, body, content_range)
    refused = requests.get(url, headers={"Range": "bytes=2000-"}, timeout=10)
    assert refused.status_code == 416 and refused.headers["Content-Range"] == "bytes */1024"
    assert requests.get(url, headers={"Range": "bytes=0-1,5-6"}, timeout=10).content == data  # several: whole
    head = requests.head(url, timeout=10)
    assert head.status_code == 200 and head.headers["Content-Length"] == "1024" and head.content == b""


def test_a_large_file_is_streamed_and_curl_resumes_a_download(
    make_board: Callable[[str], Board], tmp_path: Path
) -> None:
    if shutil.which("curl") is None:
        pytest.skip("needs curl")
    files = server(make_board)
    big = tmp_path / "rootfs.img"
    with big.open("wb") as out:
        for index in range(64):
            out.write(bytes([index]) * (1 << 20))  # 64 MiB
    url = files.put(big)
    partial = tmp_path / "fetched"
    partial.write_bytes(big.read_bytes()[: 10 << 20])  # an interrupted download
    subprocess.run(["curl", "-sSf", "-C", "-", "-o", str(partial), url], check=True, timeout=120)
    assert hashlib.sha256(partial.read_bytes()).digest() == hashlib.sha256(big.read_bytes()).digest()
    assert "[hil] http GET /rootfs.img bytes=10485760- -> 206" in "\n".join(files.context.logs.notes)


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/link/secret.txt", "//etc/passwd", "/"])
def test_nothing_outside_the_folder_is_served(make_board: Callable[[str], Board], tmp_path: Path, path: str) -> None:
    root = tmp_path / "served"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("keep out")
    (root / "link").symlink_to(tmp_path)
    files = server(make_board, f", root: {root}")
    with socket.create_connection(("127.0.0.1", int(files.address.rsplit(":", 1)[1])), timeout=10) as raw:
        raw.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 404") and b"keep out" not in answer and b"root:" not in answer


def test_put_refuses_names_outside_and_a_port_in_use_is_one_line(
    make_board: Callable[[str], Board], tmp_path: Path
) -> None:
    files = server(make_board)
    (tmp_path / "x").write_text("x")
    with pytest.raises(DriverError, match=r"put: '\.\./x' would land outside"):
        files.put(tmp_path / "x", "../x")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = server(make_board, f", port: {port}")
        with pytest.raises(
            DriverError, match=rf"board b, resource files: cannot listen on 127.0.0.1:{port}: Address already in use"
        ):
            busy.put(tmp_path / "x")
