"""`hil snapshot BOARD [RESOURCE] [OUT]`: save a frame of a board's video output."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from pytest_hil.cli.board_commands import VIRTUAL, lab_host_of, open_board
from pytest_hil.cli.lab_host import LabHost
from pytest_hil.cli.lease_commands import board_lease
from pytest_hil.errors import HilError
from pytest_hil.interfaces import Power, Video
from pytest_hil.lab.model import ResourceSpec


def add_parser(verbs: Any) -> None:
    snapshot = verbs.add_parser(
        "snapshot", help="save a frame of a board's video output (PNG, or the format the file name says)"
    )
    snapshot.add_argument("board")
    snapshot.add_argument(
        "targets",
        nargs="*",
        metavar="RESOURCE | OUT",
        help="the video resource (default: the board's one) and the file to write (default: BOARD-RESOURCE-TIME.png)",
    )
    snapshot.add_argument("-o", "--output", help="the file to write (as OUT)")
    snapshot.set_defaults(run=run_snapshot)


def _image_suffixes() -> set[str]:
    from PIL import Image

    return {suffix for suffix, name in Image.registered_extensions().items() if name in Image.SAVE}


def run_snapshot(args: argparse.Namespace) -> int:
    try:
        suffixes = _image_suffixes()
    except ImportError:
        print("hil snapshot: needs Pillow: pip install 'pytest-hil[video]'", file=sys.stderr)
        return 1
    resource, output = None, args.output
    for target in args.targets:  # `hil snapshot b out.png`, `hil snapshot b hdmi`, `hil snapshot b hdmi out.png`
        if Path(target).suffix.lower() in suffixes and output is None:
            output = target
        elif resource is None:
            resource = target
        else:
            print(f"hil snapshot: {target!r}: give at most one resource and one output file", file=sys.stderr)
            return 2
    if output is not None and Path(output).suffix.lower() not in suffixes:
        print(f"hil snapshot: {output}: name the file with an image format's extension, e.g. .png", file=sys.stderr)
        return 2
    if output is not None and not Path(output).parent.is_dir():
        print(f"hil snapshot: {output}: its folder {Path(output).parent} does not exist", file=sys.stderr)
        return 1
    try:
        host = lab_host_of(args)
        if host is not None:
            return _snapshot_on_lab_host(args, host, resource, output)
    except HilError as error:
        print(f"hil: {error}", file=sys.stderr)
        return 1
    with open_board(args, None) as board:
        if board is None:
            return 1
        try:
            video = board.get(Video, resource)
        except (KeyError, TypeError) as error:
            print(f"hil: {error.args[0]}", file=sys.stderr)
            return 1
        found = board.spec.resource_for("power")
        power = board.resource(found.name) if isinstance(found, ResourceSpec) else None
        if isinstance(power, Power) and power.process_bound:
            print(VIRTUAL.format(board=board.name, kind=power.kind), file=sys.stderr)
        try:
            frame = video.snapshot()
        except HilError as error:
            print(f"hil: {error}", file=sys.stderr)
            return 1
        name = video.context.resource
        target = Path(output or f"{board.name}-{name}-{time.strftime('%Y%m%d-%H%M%S')}.png")
        partial = target.with_name(f".{target.name}.partial")
        try:
            kind = _format_of(target)
            if kind == "JPEG" and frame.mode not in ("RGB", "L"):
                frame = frame.convert("RGB")  # JPEG has no alpha
            frame.save(partial, format=kind)
            os.replace(partial, target)
        except OSError as error:
            partial.unlink(missing_ok=True)
            print(f"hil snapshot: cannot write {target}: {error.strerror or error}", file=sys.stderr)
            return 1
        print(f"{board.name}.{name}: {frame.width}x{frame.height} frame saved to {target}")
        return 0


def _snapshot_on_lab_host(args: argparse.Namespace, host: LabHost, resource: str | None, output: str | None) -> int:
    """The frame is saved on the lab host, brought back here, and removed there."""
    target = Path(output or f"{args.board}-{resource or 'video'}-{time.strftime('%Y%m%d-%H%M%S')}.png")
    remote = host.temporary(target.name)
    try:
        arguments = ["snapshot", args.board, *([resource] if resource else []), remote]
        with board_lease(host.lab, args.board) as token:
            status = host.hil(arguments, args.board, token, quiet=True)
        if status == 0:
            host.download(remote, target)
            print(f"{args.board}: frame from lab host {host.host} saved to {target}")
        return status
    finally:
        host.remove(remote)


def _format_of(path: Path) -> str:
    from PIL import Image

    return Image.registered_extensions()[path.suffix.lower()]
