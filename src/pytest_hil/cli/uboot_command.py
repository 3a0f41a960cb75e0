"""`hil uboot BOARD [-- CMD...]`: a board's U-Boot by hand: power-cycle it into the prompt, then run one
command (its output, and U-Boot's `$?` as hil's status) or hand over the console at the prompt."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from pytest_hil.cli.board_commands import interact, lab_host_of, on_lab_host, open_board
from pytest_hil.console.stream_console import StreamConsole
from pytest_hil.errors import HilError
from pytest_hil.interfaces import Bootloader

#: The status line the command is followed by: U-Boot's `$?`.
STATUS = re.compile(r"^HIL_RC=(\d+)\s*$", re.MULTILINE)


def add_parser(verbs: Any) -> None:
    uboot = verbs.add_parser(
        "uboot", help="stop a board at its U-Boot prompt; run one command there, or get the console at it"
    )
    uboot.add_argument("board")
    uboot.add_argument("command", nargs=argparse.REMAINDER, help="after --: one U-Boot command line")
    uboot.add_argument("--resource", help="the bootloader resource (default: the board's one)")
    uboot.add_argument("--log-dir", default=None, help="also keep the console log here")
    uboot.set_defaults(run=run_uboot)


def run_uboot(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        host = lab_host_of(args)
        if host is not None:
            options = ["--resource", args.resource] if args.resource else []
            arguments = ["uboot", *options, args.board, *(["--", *command] if command else [])]
            return on_lab_host(host, args.board, arguments, tty=not command and sys.stdin.isatty())
    except HilError as error:
        print(f"hil: {error}", file=sys.stderr)
        return 1
    with open_board(args, args.log_dir) as board:
        if board is None:
            return 1
        try:
            bootloader = board.get(Bootloader, args.resource)
            bootloader.reboot_to_console()
            if command:
                line = " ".join(command)
                output = bootloader.run(f"{line}; echo HIL_RC=$?")
                found = STATUS.search(output)
                printed = (output[: found.start()] if found else output).rstrip("\n")
                if printed.strip():
                    print(printed)
                return int(found[1]) if found else 1
        except (KeyError, TypeError) as error:
            print(f"hil: {error.args[0]}", file=sys.stderr)
            return 1
        except HilError as error:
            print(f"hil: {error}", file=sys.stderr)
            return 1
        console = getattr(bootloader, "console", None)
        if not isinstance(console, StreamConsole):
            print(f"hil: {board.name}: the bootloader's console cannot be handed over", file=sys.stderr)
            return 1
        print(f"hil: {board.name} at its U-Boot prompt; Ctrl-] then q leaves\r", file=sys.stderr)
        return interact(console)
