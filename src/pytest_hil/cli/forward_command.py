"""`hil forward BOARD PORT [--local [ADDRESS:]PORT]`: a TCP tunnel from this machine to a port of the
board, through its lab host (OpenSSH's own forwarding: `ssh -N -L`), or straight to it for a board
attached here. It serves any number of connections while the board stays leased to you, and ends on
Ctrl-C or when the lease ends.

The board's address comes from the lab file: a QEMU board's `hostfwd` rule for that port (the service
as the lab host reaches it), else the `host` of its `ssh` resource.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from pytest_hil.cli.board_commands import lab_host_of
from pytest_hil.cli.common import board_or_report, lab_path, load_or_report, open_lab_store
from pytest_hil.cli.lease_commands import board_lease
from pytest_hil.errors import HilError, LeaseLost
from pytest_hil.lab.model import BoardSpec

HOSTFWD = re.compile(r"tcp:(?P<address>[^:]*):(?P<port>\d+)-[^:]*:(?P<guest>\d+)")
#: Seconds between looks at the lease (and at the tunnel) while forwarding.
LOOK_EVERY = 0.5


def add_parser(verbs: Any) -> None:
    forward = verbs.add_parser("forward", help="a TCP tunnel from here to a port of the board (through its lab host)")
    forward.add_argument("board")
    forward.add_argument("port", type=int, help="the board's port")
    forward.add_argument(
        "--local", default="127.0.0.1:0", metavar="[ADDRESS:]PORT", help="where to listen here (default: a free port)"
    )
    forward.set_defaults(run=run_forward)


def board_address(spec: BoardSpec, port: int) -> tuple[str, int]:
    """Where `port` of the board is, as the machine it hangs on reaches it."""
    for resource in spec.resources.values():
        for rule in resource.raw_options.get("hostfwd", ()) or ():
            found = HOSTFWD.fullmatch(str(rule))
            if found and int(found["guest"]) == port:
                return found["address"] or "127.0.0.1", int(found["port"])
    for resource in spec.resources.values():
        if resource.kind == "ssh" and resource.raw_options.get("host"):
            return str(resource.raw_options["host"]), port
    raise HilError(
        f"board {spec.name}: no address for port {port}: give it an ssh resource with host:"
        " (or a qemu hostfwd rule for that port)"
    )


def _listen_address(text: str) -> tuple[str, int]:
    address, _, port = text.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise HilError(f"--local {text!r}: give [ADDRESS:]PORT, e.g. 127.0.0.1:8080 or 8080")
    return (address or "127.0.0.1").strip("[]"), int(port)


def _free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def run_forward(args: argparse.Namespace) -> int:
    lab = load_or_report(lab_path(args))
    if lab is None:
        return 1
    spec = board_or_report(lab, args.board)
    if spec is None:
        return 1
    try:
        target = board_address(spec, args.port)
        address, port = _listen_address(args.local)
        port = port or _free_port(address)
        host = lab_host_of(args)
        with (
            board_lease(lab, spec.name) as token,
            open_lab_store(lab) as store,
            _tunnel(host, (address, port), target) as alive,
        ):
            via = f" through lab host {host.host}" if host is not None else ""
            print(f"hil forward: {address}:{port} -> {target[0]}:{target[1]} of {spec.name}{via}; Ctrl-C ends",
                  flush=True)  # fmt: skip
            while alive():
                time.sleep(LOOK_EVERY)
                if not store.holds(token, spec.name):  # released by force, or expired
                    raise LeaseLost(f"lease on board {spec.name} ended")
            print("hil forward: the tunnel closed", file=sys.stderr)
            return 1
    except LeaseLost as error:
        print(f"hil forward: {error}: the tunnel is closed", file=sys.stderr)
        return 1
    except HilError as error:
        print(f"hil: {error}", file=sys.stderr)
        return 1


@contextlib.contextmanager
def _tunnel(host: Any, listen: tuple[str, int], target: tuple[str, int]) -> Any:
    """Forward `listen` here to `target` (as the lab host, or this machine, reaches it); yields a
    function telling whether the tunnel still works."""
    if host is not None:
        forward = f"{listen[0]}:{listen[1]}:{target[0]}:{target[1]}"
        argv = [*host.ssh_options(), "-N", "-o", "ExitOnForwardFailure=yes", "-L", forward, host.host]
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 15
        while not _listening(listen) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is not None or not _listening(listen):
            process.kill()
            said = (process.communicate()[1] or "").strip().splitlines()
            raise HilError(f"lab host {host.host}: the tunnel did not open: {said[-1] if said else 'no answer'}")
        try:
            yield lambda: process.poll() is None
        finally:
            process.terminate()
            process.wait(timeout=10)
        return
    server = socket.create_server(listen)
    stop = threading.Event()
    threading.Thread(target=_serve, args=(server, target, stop), daemon=True).start()
    try:
        yield lambda: not stop.is_set()
    finally:
        stop.set()
        server.close()


def _listening(address: tuple[str, int]) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(address) == 0


def _serve(server: socket.socket, target: tuple[str, int], stop: threading.Event) -> None:
    """Accept connections here and relay each to `target` (a board attached to this machine)."""
    while not stop.is_set():
        try:
            client, _ = server.accept()
        except OSError:
            return
        try:
            upstream = socket.create_connection(target, timeout=10)
        except OSError as error:
            print(f"hil forward: {target[0]}:{target[1]}: {error.strerror or error}", file=sys.stderr)
            client.close()
            continue
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
