"""`hil` entry point: parse the command line and hand over to one module per verb group."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pytest_hil.cli import board_commands, drivers_command, flash_command, lab_commands, lease_commands
from pytest_hil.errors import HilError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hil", description="Operate a pytest-hil lab by hand.")
    parser.add_argument("--lab", metavar="LAB", help="lab file (default: the environment variable HIL_LAB)")
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    lab_commands.add_parsers(verbs)
    drivers_command.add_parser(verbs)
    board_commands.add_parsers(verbs)
    flash_command.add_parser(verbs)
    lease_commands.add_parsers(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `hil`; returns the exit status (0 ok, 1 a failure, 2 a usage mistake)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except HilError as error:
        print(f"hil: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
