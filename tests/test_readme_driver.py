"""The README's driver example works as written: loaded, checked by the lab loader, switching a real
HTTP server on loopback, logging its power changes, failing with the board and resource named."""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pytest_hil.board import Board
from pytest_hil.errors import DriverError, LabError
from pytest_hil.lab import load_lab
from pytest_hil.registry import DriverRegistry
from tests.conftest import REPO


def readme_driver(tmp_path: Path) -> object:
    text = (REPO / "README.md").read_text()
    start = text.index("# my_pdu/plugin.py")
    module_path = tmp_path / "my_pdu_plugin.py"
    module_path.write_text(text[start : text.index("```", start)])
    spec = importlib.util.spec_from_file_location("my_pdu_plugin", module_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would (dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def pdu() -> Iterator[tuple[dict[str, str], str]]:
    outlets = {"1": "off"}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            _, _, number, action = self.path.split("/")
            if "password=s3cret-pdu" not in body:
                self.send_response(403)
                self.end_headers()
                return
            if action in ("on", "off"):
                outlets[number] = action
            answer = outlets[number].encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield outlets, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_readme_driver_switches_a_real_pdu(tmp_path: Path, pdu: tuple[dict[str, str], str]) -> None:
    outlets, url = pdu
    registry = DriverRegistry()
    registry.register(readme_driver(tmp_path), "my-pdu")
    (tmp_path / "lab.yaml").write_text(
        f"version: 1\nboards:\n  b:\n    resources:\n      power: {{driver: my-pdu, url: '{url}', password: s3cret-pdu}}\n"
    )
    board = Board(load_lab(tmp_path / "lab.yaml", registry).boards["b"], tmp_path)
    board.logs.console("console")
    try:
        board.power.on()  # type: ignore[attr-defined]
        assert outlets["1"] == "on" and board.power.state() is True  # type: ignore[attr-defined]
        assert "[hil] power on (my-pdu " in board.logs.logs["console"].recent_lines(5)
        (tmp_path / "lab.yaml").write_text((tmp_path / "lab.yaml").read_text().replace("s3cret-pdu", "wrong-pass"))
        wrong = Board(load_lab(tmp_path / "lab.yaml", registry).boards["b"], tmp_path)
        with pytest.raises(DriverError) as raised:
            wrong.power.off()  # type: ignore[attr-defined]
        wrong.close()
        assert str(raised.value).startswith("board b, resource power: off via ") and "403" in str(raised.value)
    finally:
        board.close()
    (tmp_path / "lab.yaml").write_text(
        "version: 1\nboards:\n  b:\n    resources:\n      power: {driver: my-pdu, url: 'ftp://pdu', outlet: 99}\n"
    )
    with pytest.raises(LabError) as bad:
        load_lab(tmp_path / "lab.yaml", registry)
    assert [issue.message for issue in bad.value.issues] == [
        "expected a http:// or https:// URL, got ftp://",
        "must be at most 48, got 99",
    ]
