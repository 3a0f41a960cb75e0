"""Shell completion for bash and zsh: verbs, options, and board and resource names from the lab file.

`hil completion bash` (or `zsh`) prints a script to source; it asks `hil __complete` for candidates.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

FILES = "__files__"  # tells the shell script to complete file names itself

BASH = """# hil completion for bash: eval "$(hil completion bash)"
_hil_complete() {
    local IFS=$'\\n'
    local words=($(hil __complete "$COMP_CWORD" -- "${COMP_WORDS[@]:1}" 2>/dev/null))
    if [ "${words[0]}" = "__files__" ]; then
        COMPREPLY=($(compgen -f -- "${COMP_WORDS[COMP_CWORD]}"))
    else
        COMPREPLY=($(compgen -W "${words[*]}" -- "${COMP_WORDS[COMP_CWORD]}"))
    fi
}
complete -o default -F _hil_complete hil
"""

ZSH = """# hil completion for zsh: eval "$(hil completion zsh)"
autoload -U +X bashcompinit && bashcompinit
""" + BASH.split("\\n", 1)[1]


def add_parsers(verbs: Any) -> None:
    completion = verbs.add_parser("completion", help="print a shell completion script (bash or zsh) to source")
    completion.add_argument("shell", choices=("bash", "zsh"))
    completion.set_defaults(run=lambda args: _print(BASH if args.shell == "bash" else ZSH))
    hidden = verbs.add_parser("__complete", help=argparse.SUPPRESS)
    hidden.add_argument("index", type=int)
    hidden.add_argument("words", nargs=argparse.REMAINDER)
    hidden.set_defaults(run=run_complete)


def _print(text: str) -> int:
    sys.stdout.write(text)
    return 0


def run_complete(args: argparse.Namespace) -> int:
    from pytest_hil.cli.main import build_parser

    words = args.words[1:] if args.words[:1] == ["--"] else args.words
    for word in candidates(build_parser(), words, args.index):
        print(word)
    return 0


def candidates(parser: argparse.ArgumentParser, words: list[str], index: int) -> list[str]:
    """What may come at position `index` (1: the word after `hil`) of `hil WORDS...`."""
    before = words[: index - 1]
    if before and before[-1] in ("--lab", "--hil-lab", "--log-dir"):
        return [FILES]
    verbs = _verbs(parser)
    verb = next((word for word in before if word in verbs), None)
    if verb is None:
        return [name for name in verbs if not name.startswith("_")] + ["--lab"]
    command = verbs[verb]
    options = [string for action in command._actions for string in action.option_strings if string.startswith("--")]
    positional = [word for word in before[before.index(verb) + 1 :] if not word.startswith("-")]
    current = words[index - 1] if 0 < index <= len(words) else ""
    if current.startswith("-"):
        return options
    lab = _lab_of(before)
    if verb in ("console", "run", "power", "flash", "snapshot", "lease", "release") and not positional:
        return [*_boards(lab), *options]
    if verb == "console" and len(positional) == 1:
        return _consoles(lab, positional[0])
    if verb == "power" and len(positional) == 1:
        return ["on", "off", "cycle", "status"]
    if verb in ("flash", "snapshot", "check", "boards", "leases", "web") and len(positional) <= 1:
        return [FILES]
    return options


def _verbs(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _lab_of(words: list[str]) -> str | None:
    for option in ("--lab", "--hil-lab"):
        if option in words[:-1]:
            return words[words.index(option) + 1]
    return os.environ.get("HIL_LAB")


def _boards(lab: str | None) -> list[str]:
    loaded = _load(lab)
    return list(loaded.boards) if loaded is not None else []


def _consoles(lab: str | None, board: str) -> list[str]:
    loaded = _load(lab)
    if loaded is None or board not in loaded.boards:
        return []
    return [name for name, spec in loaded.boards[board].resources.items() if "console" in spec.interfaces]


def _load(lab: str | None) -> Any:
    if not lab:
        return None
    from pytest_hil.errors import HilError
    from pytest_hil.lab import load_lab

    try:
        return load_lab(lab)
    except HilError:
        return None
