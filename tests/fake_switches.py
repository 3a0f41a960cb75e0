"""Real HTTP servers on loopback that behave like Tasmota, Shelly gen1/gen2 and a REST relay board,
with the faults real switches have: 500s, hangs, lies about their state."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeSwitch:
    """The device's state and its misbehaviours, shared by its request handler threads."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.on = False
        self.requests: list[str] = []
        self.fail_next = 0  # answer this many requests with 500
        self.hang = 0.0  # seconds to sleep before answering
        self.liar = False  # switching does not change the state
        self.answer: tuple[int, str] | None = None  # answer every request with this status and body
        self.lock = threading.Lock()
        # an EnerGenie strip: four sockets, one web session at a time
        self.password = "strip-secret"
        self.sockets = [False] * 4
        self.logged_in = False

    def handle(self, method: str, path: str, body: str) -> tuple[int, str]:
        with self.lock:
            self.requests.append(f"{method} {path}")
            if self.fail_next:
                self.fail_next -= 1
                return 500, "internal error"
            if self.answer is not None:
                return self.answer
        if self.hang:
            time.sleep(self.hang)
        url = urlparse(path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        return getattr(self, f"_{self.kind}")(method, url.path, query, body)

    def _set(self, on: bool) -> None:
        if not self.liar:
            self.on = on

    def _tasmota(self, method: str, path: str, query: dict[str, str], body: str) -> tuple[int, str]:
        command = query.get("cmnd", "")
        if path != "/cm" or not command.lower().startswith("power1"):
            return 400, json.dumps({"Command": "Unknown"})
        argument = command[len("power1") :].strip().lower()
        if argument in ("on", "off"):
            self._set(argument == "on")
        return 200, json.dumps({"POWER1": "ON" if self.on else "OFF"})

    def _shelly1(self, method: str, path: str, query: dict[str, str], body: str) -> tuple[int, str]:
        if path != "/relay/0":
            return 404, "Not Found"
        if "turn" in query:
            self._set(query["turn"] == "on")
        return 200, json.dumps({"ison": self.on, "has_timer": False})

    def _shelly2(self, method: str, path: str, query: dict[str, str], body: str) -> tuple[int, str]:
        if path == "/rpc/Switch.Set" and query.get("id") == "0":
            was_on = self.on
            self._set(query.get("on") == "true")
            return 200, json.dumps({"was_on": was_on})
        if path == "/rpc/Switch.GetStatus" and query.get("id") == "0":
            return 200, json.dumps({"id": 0, "output": self.on, "apower": 3.2})
        return 404, json.dumps({"code": 404, "message": "No handler"})

    def _relay(self, method: str, path: str, query: dict[str, str], body: str) -> tuple[int, str]:
        if method == "POST" and path in ("/api/relay/3/on", "/api/relay/3/off"):
            self._set(path.endswith("/on"))
            return 200, "OK"
        if method == "GET" and path == "/api/relay/3":
            return 200, json.dumps({"relay": 3, "state": "on" if self.on else "off"})
        return 404, "no such relay"

    def _energenie(self, method: str, path: str, query: dict[str, str], body: str) -> tuple[int, str]:
        form = {key: values[-1] for key, values in parse_qs(body).items()}
        if path == "/login.html" and method == "POST":
            self.logged_in = form.get("pw") == self.password
        elif path == "/login.html":
            self.logged_in = False  # what the strip's logout link does
        elif path == "/" and method == "POST" and self.logged_in:
            for index in range(4):
                if f"cte{index + 1}" in form and not self.liar:
                    self.sockets[index] = form[f"cte{index + 1}"] == "1"
            self.on = self.sockets[0]
        if not self.logged_in:
            return 200, ENERGENIE_LOGIN
        states = ",".join("1" if state else "0" for state in self.sockets)
        return 200, ENERGENIE_STATUS.replace("STATES", states)


ENERGENIE_LOGIN = """<html><head><title>EnerGenie Web:</title></head><body>
<form method="post" action="login.html"><input type="password" name="pw"><input type="submit" value="Enter"></form>
</body></html>"""
ENERGENIE_STATUS = """<html><head><title>EnerGenie Web:</title><script>
var sockstates = [STATES];
var sockNames = ["", "", "", ""];
</script></head><body><form method="post" action="/"><input type="hidden" name="cte1"></form></body></html>"""


def _handler(switch: FakeSwitch) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        wbufsize = 1 << 16  # without it keep-alive answers stall on Nagle + delayed ACK

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            status, text = switch.handle(self.command, self.path, body)
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serving(kind: str) -> Iterator[tuple[FakeSwitch, str]]:
    """A fake switch of `kind` on 127.0.0.1: yields it and its base URL."""
    switch = FakeSwitch(kind)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(switch))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield switch, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
