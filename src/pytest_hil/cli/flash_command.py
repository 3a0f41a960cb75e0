"""`hil flash BOARD IMAGE`: write an image to a board's storage by hand, with a progress bar; with
`--via FLASHER`, through a flasher resource (a flasher OS, a debug probe) instead."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from pytest_hil.board import Board
from pytest_hil.cli.board_commands import lab_host_of, open_board
from pytest_hil.cli.lab_host import LabHost
from pytest_hil.cli.lease_commands import board_lease
from pytest_hil.errors import HilError
from pytest_hil.interfaces import Flasher, Power, Storage
from pytest_hil.progress import Progress


def add_parser(verbs: Any) -> None:
    flash = verbs.add_parser(
        "flash", help="write an image (raw, .gz, .xz, .bz2, .zst; a .bmap beside it is used) to a board's storage"
    )
    flash.add_argument("board")
    flash.add_argument("image", type=Path)
    flash.add_argument("--resource", help="storage resource (default: the board's one storage)")
    flash.add_argument(
        "--via", metavar="FLASHER", help="a flasher resource (flasher-os, probe-rs, ...): it writes, verifies, resets"
    )
    flash.add_argument("--target", help="with --via flasher-os: the board's disk (default: the resource's target)")
    flash.add_argument("--verify", action="store_true", help="read the written image back and compare")
    flash.add_argument("--boot", action="store_true", help="power the board off first and on afterwards")
    flash.add_argument(
        "--log-dir", default=None, help="keep the board's console log here: the flash notes and, with --boot, the boot"
    )
    flash.set_defaults(run=run_flash)


def _flash_on_lab_host(args: argparse.Namespace, host: LabHost) -> int:
    """The image goes to the lab host first (a progress bar), is flashed there, and is removed."""
    options = [*(["--resource", args.resource] if args.resource else []), *(["--verify"] if args.verify else []),
               *(["--boot"] if args.boot else []), *(["--via", args.via] if args.via else []),
               *(["--target", args.target] if args.target else [])]  # fmt: skip
    with board_lease(host.lab, args.board) as token:
        remote = host.upload(args.image, _stderr_progress())
        try:
            return host.hil(["flash", args.board, remote, *options], args.board, token)
        finally:
            host.remove(remote)


def _stderr_progress() -> Progress:
    def write(text: str) -> None:
        sys.stderr.write(text)
        sys.stderr.flush()

    return Progress(write, live=sys.stderr.isatty())


def run_flash(args: argparse.Namespace) -> int:
    if not args.image.is_file():
        print(f"hil: image {args.image} does not exist", file=sys.stderr)
        return 1
    storage_options = (("--resource", args.resource), ("--verify", args.verify), ("--boot", args.boot))
    wrong = [option for option, given in storage_options if given and args.via]
    wrong += ["--target"] if args.target and not args.via else []
    if wrong:
        say = "without --via" if args.via is None else "with --via (a flasher verifies and resets by itself)"
        print(f"hil: {', '.join(wrong)} cannot be used {say}", file=sys.stderr)
        return 2
    try:
        host = lab_host_of(args)
        if host is not None:
            return _flash_on_lab_host(args, host)
    except HilError as error:
        print(f"hil: {error}", file=sys.stderr)
        return 1
    with open_board(args, args.log_dir, _stderr_progress()) as board:
        if board is None:
            return 1
        if args.via:
            return _flash_via(board, args)
        try:
            storage = board.resource(args.resource) if args.resource else board.interface("storage")
            power = board.interface("power") if args.boot else None
            console = board.spec.shell_console()
            if args.log_dir and console is not None:
                board.resource(console)  # its log records the flash and the boot
        except KeyError as error:
            print(f"hil: {error.args[0]}", file=sys.stderr)
            return 1
        if not isinstance(storage, Storage):
            print(f"hil: {board.name}.{args.resource} is not storage ({storage.kind})", file=sys.stderr)
            return 1
        started = time.monotonic()
        try:
            if isinstance(power, Power):
                power.off()
            storage.write(args.image, verify=args.verify)
            if isinstance(power, Power):
                power.on()
        except HilError as error:
            print(f"hil: {error}", file=sys.stderr)
            return 1
        checked = ", verified" if args.verify else ""
        print(f"{board.name}: flashed {args.image.name} in {time.monotonic() - started:.1f} s{checked}")
        return 0


def _flash_via(board: Board, args: argparse.Namespace) -> int:
    """`--via FLASHER`: the flasher resource writes, checks and resets."""
    try:
        flasher = board.resource(args.via)
    except KeyError as error:
        print(f"hil: {error.args[0]}", file=sys.stderr)
        return 1
    if not isinstance(flasher, Flasher):
        print(f"hil: {board.name}.{args.via} is not a flasher ({flasher.kind})", file=sys.stderr)
        return 1
    started = time.monotonic()
    try:
        flasher.flash(args.image, **({"target": args.target} if args.target else {}))
    except (HilError, TypeError) as error:
        print(f"hil: {error}", file=sys.stderr)
        return 1
    print(f"{board.name}: flashed {args.image.name} via {args.via} in {time.monotonic() - started:.1f} s")
    return 0
