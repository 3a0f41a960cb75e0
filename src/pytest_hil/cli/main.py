"""`hil` entry point: parse the command line and hand over to one module per verb group."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from pytest_hil.cli import (
    board_commands,
    completion,
    drivers_command,
    flash_command,
    forward_command,
    lab_commands,
    lease_commands,
    script_command,
    shell_command,
    snapshot_command,
    uboot_command,
    web_command,
)
from pytest_hil.errors import HilError
from pytest_hil.secrets import mask


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hil", description="Operate a pytest-hil lab by hand.")
    lab_help = "lab file (default: the environment variable HIL_LAB); also after the command"
    parser.add_argument("--lab", "--hil-lab", dest="lab", metavar="LAB", help=lab_help)
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    lab_commands.add_parsers(verbs)
    drivers_command.add_parser(verbs)
    board_commands.add_parsers(verbs)
    flash_command.add_parser(verbs)
    snapshot_command.add_parser(verbs)
    script_command.add_parser(verbs)
    shell_command.add_parser(verbs)
    forward_command.add_parser(verbs)
    uboot_command.add_parser(verbs)
    lease_commands.add_parsers(verbs)
    web_command.add_parser(verbs)
    completion.add_parsers(verbs)
    for command in verbs.choices.values():  # `hil leases --lab X` as well as `hil --lab X leases`
        command.add_argument("--lab", "--hil-lab", dest="lab", metavar="LAB", default=argparse.SUPPRESS, help=lab_help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `hil`; returns the exit status (0 ok, 1 a failure, 2 a usage mistake)."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    command: list[str] | None = None
    if "--" in words and "shell" in words[: words.index("--")]:
        # `hil shell [BOARD] [options] -- COMMAND...`: what follows -- is the command, whole (argparse
        # would hand its first word to the optional BOARD)
        command = words[words.index("--") + 1 :]
        words = words[: words.index("--")]
    args = parser.parse_args(words)
    if command is not None:
        args.command = command
    with _masked_output():
        try:
            return int(args.run(args))
        except HilError as error:
            print(f"hil: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
        except BrokenPipeError:  # `hil drivers -v | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
            return 141


class _MaskedStream:
    """A text stream that masks secrets in everything written through it (whole writes at a time)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(mask(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def _masked_output() -> Iterator[None]:
    """stdout and stderr mask secrets while a command runs (a board's raw console bypasses them)."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _MaskedStream(saved[0]), _MaskedStream(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


if __name__ == "__main__":
    sys.exit(main())
