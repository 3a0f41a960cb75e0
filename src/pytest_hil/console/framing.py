"""The lines the shell itself writes on a console (its setup after a login, command markers and
pieces), and taking them out of what a person reads: failure reports, crash reports."""

from __future__ import annotations

import re

#: The shell's own lines on a console: its setup after a login (with the board's prompt before its
#: first own prompt, which has no command number yet), the printf markers and pieces of the fallback.
_FRAMING = re.compile(
    r"^.*(?:HIL[0-9a-f]{8}[SERc]\b|printf '%s%s|_hs=\$\(stty -g\)|stty \"\$_hs\"|_hp=\$PS1|\$_h:\$\?"
    r"|\x01:\d+\x01).*$\n?",
    re.MULTILINE,
)


#: The shell's prompt while it runs commands: the command's number and exit status (see `shell.py`).
PROMPTS = re.compile("\x01\\d*:\\d+\x01\r?\n?")


def without_framing(text: str, lines: int = 50) -> str:
    """The last `lines` of a console's text as a person wants them: the shell's own lines taken out."""
    return "\n".join(PROMPTS.sub("", _FRAMING.sub("", text)).split("\n")[-lines:])
