"""`http-server`: files for boards to fetch (`put(path) -> url`), served over HTTP from a folder, with
Range requests (a board resuming a download, a flasher fetching a slice) and any file size (files are
streamed, never read whole). Nothing outside the folder is served: `..`, absolute names and symlinks
that lead out are not found. Started when first used, stopped when the session ends; every request is
a line in the board's console logs.
"""

from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from hil_drivers.servers.folder import FolderServing, ServedFolder
from pytest_hil.errors import DriverError
from pytest_hil.interfaces import DriverContext, FileServer

RANGE = re.compile(r"bytes=(\d*)-(\d*)")
CHUNK = 1 << 20


@dataclass(frozen=True)
class HttpServerOptions:
    root: Path | None = field(default=None, metadata={"help": "the folder served (default: one of the session's own)"})
    host: str = field(
        default="127.0.0.1", metadata={"help": "address to listen on, and in the URLs (the boards' view)"}
    )
    port: int = field(default=0, metadata={"help": "port (0: a free one)", "min": 0, "max": 65535})


class HttpServer(FolderServing, FileServer[HttpServerOptions]):
    """An HTTP file server: `put(path, name=None)` gives the URL a board fetches the file from."""

    kind = "http-server"
    Options = HttpServerOptions

    def __init__(self, options: HttpServerOptions, context: DriverContext) -> None:
        super().__init__(options, context)
        self.folder = ServedFolder(options.root, context, "http")
        self.server: ThreadingHTTPServer | None = None
        self.lock = threading.Lock()

    @property
    def address(self) -> str:
        """`http://HOST:PORT` (the server starts if it has not yet)."""
        server = self._start()
        return f"http://{self.options.host}:{server.server_address[1]}"

    def put(self, path: str | Path, name: str | None = None) -> str:
        """Serve the file at `path` as `name` (default: its own name); its URL."""
        source = Path(path)
        placed = self.folder.place(source, name or source.name)
        return f"{self.address}/{quote(placed)}"

    def _start(self) -> ThreadingHTTPServer:
        with self.lock:
            if self.server is None:
                root = self.root
                root.mkdir(parents=True, exist_ok=True)
                try:
                    server = ThreadingHTTPServer((self.options.host, self.options.port), _handler(self, root))
                except OSError as error:
                    where = f"{self.options.host}:{self.options.port}"
                    raise DriverError(f"{self.context}: cannot listen on {where}: {error.strerror or error}") from None
                server.daemon_threads = True
                threading.Thread(target=server.serve_forever, name=f"hil http {self.context}", daemon=True).start()
                self.server = server
                self.context.logs.note(
                    f"[hil] http-server serving {root} at http://{self.options.host}:{server.server_address[1]}"
                )
            return self.server

    def close(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        self.folder.remove()


def _handler(driver: HttpServer, root: Path) -> type[BaseHTTPRequestHandler]:
    top = root.resolve()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve(body=True)

        def do_HEAD(self) -> None:
            self._serve(body=False)

        def _file(self) -> Path | None:
            name = unquote(urlsplit(self.path).path).lstrip("/")
            if not name or "\x00" in name:
                return None
            path = (top / name).resolve()
            return path if path.is_relative_to(top) and path.is_file() else None

        def _serve(self, body: bool) -> None:
            path = self._file()
            if path is None:
                self._plain(HTTPStatus.NOT_FOUND, "not found")
                return
            size = path.stat().st_size
            start, end, status = 0, size - 1, HTTPStatus.OK
            wanted = self.headers.get("Range")
            if wanted:
                found = RANGE.fullmatch(wanted.strip())
                if found and (found[1] or found[2]):  # one range; several are served whole (RFC 9110 allows it)
                    if found[1]:
                        start = int(found[1])
                        end = min(int(found[2]), size - 1) if found[2] else size - 1
                    else:
                        start = max(size - int(found[2]), 0)
                    if start >= size or start > end:
                        self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        self._note(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, wanted)
                        return
                    status = HTTPStatus.PARTIAL_CONTENT
            length = end - start + 1 if size else 0
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(length))
            if status == HTTPStatus.PARTIAL_CONTENT:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            self._note(status, wanted)
            if body and length:
                with path.open("rb") as source, contextlib.suppress(ConnectionError):
                    source.seek(start)
                    remaining = length
                    while remaining:
                        chunk = source.read(min(CHUNK, remaining))
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        remaining -= len(chunk)
                        driver.folder.count(path.relative_to(top).as_posix(), len(chunk))

        def _plain(self, status: HTTPStatus, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            self._note(status, None)

        def _note(self, status: int, wanted: str | None) -> None:
            asked = f" {wanted}" if wanted else ""
            driver.context.logs.note(
                f"[hil] http {self.command} {self.path}{asked} -> {int(status)} ({self.client_address[0]})"
            )

        def log_message(self, format: str, *args: Any) -> None:
            pass  # every request is a console-log note instead

    return Handler
