"""`hil script BOARD NAME [ARGS...]`: one of a board's lab-host scripts (a `scripts` resource) by hand."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pytest_hil.cli.board_commands import RUN_FAILED, open_board
from pytest_hil.errors import HilError
from pytest_hil.interfaces import Scripts


def add_parser(verbs: Any) -> None:
    script = verbs.add_parser("script", help="run one of a board's host scripts; its output and exit code are hil's")
    script.add_argument("board")
    script.add_argument("name", help="the script's name in the lab file")
    script.add_argument("arguments", nargs=argparse.REMAINDER, help="its $1..$n")
    script.add_argument("--resource", help="the scripts resource (default: the board's one)")
    script.set_defaults(run=run_script)


def run_script(args: argparse.Namespace) -> int:
    arguments = args.arguments[1:] if args.arguments[:1] == ["--"] else args.arguments
    with open_board(args, None) as board:
        if board is None:
            return RUN_FAILED
        try:
            scripts = board.get(Scripts, args.resource)
            if args.name not in scripts.names():
                known = ", ".join(scripts.names())
                print(f"hil: {scripts.context} has no script {args.name!r} (it has: {known})", file=sys.stderr)
                return RUN_FAILED
            result = scripts.call(args.name, *arguments)
        except (KeyError, TypeError) as error:
            print(f"hil: {error.args[0]}", file=sys.stderr)
            return RUN_FAILED
        except HilError as error:
            print(f"hil: {error}", file=sys.stderr)
            return RUN_FAILED
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        return result.exit_code
