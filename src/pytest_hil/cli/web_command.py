"""`hil web`: serve the lab dashboard (pytest_hil.web) on uvicorn until Ctrl-C."""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from typing import Any

from pytest_hil.cli.common import lab_path, load_or_report, open_lab_store

DEFAULT_LISTEN = "127.0.0.1:8765"
#: Host names a dashboard on a loopback address answers to (others are refused: DNS rebinding).
LOOPBACK_NAMES = ["127.0.0.1", "localhost"]
#: Seconds the dashboard retries a lease store that went away before a page says so.
STORE_PATIENCE = 2.0


def add_parser(verbs: Any) -> None:
    web = verbs.add_parser("web", help="serve the lab dashboard: boards, holders, queues, history, live")
    web.add_argument("lab_file", nargs="?", metavar="LAB")
    web.add_argument(
        "--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT", help=f"where to serve (default {DEFAULT_LISTEN})"
    )
    web.add_argument(
        "--token-file",
        metavar="FILE",
        help="let operators who enter the token in FILE force-release boards (without it: read-only)",
    )
    web.set_defaults(run=run_web)


class ListenError(ValueError):
    """A --listen value that is not HOST:PORT."""


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[IPv6]:PORT` or `PORT` (on 127.0.0.1) -> (host, port)."""
    host, colon, port_text = text.rpartition(":")
    if not colon:
        host, port_text = "127.0.0.1", text
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ListenError(f"--listen {text!r}: give HOST:PORT, e.g. {DEFAULT_LISTEN} or 0.0.0.0:8765")
    return host, int(port_text)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback and ipaddress.ip_address(host).version == 4
    except ValueError:
        return False


def run_web(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from pytest_hil.web.access import Access, read_token
        from pytest_hil.web.app import create_app
    except ImportError as error:
        print(f"hil web: needs the web extra ({error.name} is missing): pip install 'pytest-hil[web]'", file=sys.stderr)
        return 1
    try:
        host, port = parse_listen(args.listen)
    except ListenError as error:
        print(f"hil web: {error}", file=sys.stderr)
        return 2
    access = Access(read_token(args.token_file) if args.token_file else None)
    lab = load_or_report(lab_path(args))
    if lab is None:
        return 1
    store = open_lab_store(lab)  # an unreachable or damaged store is said here, before serving
    store.reconnect_for = STORE_PATIENCE
    try:
        listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as error:
        print(f"hil web: cannot listen on {args.listen}: {error.strerror or error}", file=sys.stderr)
        return 1
    actual = listener.getsockname()[1]
    app = create_app(lab, store, access, LOOPBACK_NAMES if _is_loopback(host) else None)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=1)
    shown_host = f"[{host}]" if ":" in host else host
    mode = f"operators with the token in {args.token_file} may force releases" if access.enabled else "read-only"
    print(
        f"hil web: lab {lab.name or lab.path.name} at http://{shown_host}:{actual}/ ({mode}); Ctrl-C stops", flush=True
    )
    revisions = app.state.revisions

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            revisions.close_streams()  # open pages' event streams end now, not after a timeout
            super().handle_exit(sig, frame)

    Server(config).run(sockets=[listener])
    store.close()
    return 0
