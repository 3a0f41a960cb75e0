"""How a process hands the lease it holds to the commands it runs (`hil shell` to the pytest inside):
the board and the lease's token, in the environment. The receiver uses the board under that token
while the store says the lease holds, and never releases it: its holder does."""

from __future__ import annotations

import os
from collections.abc import Mapping

#: The board (the default of `--hil-board`) and the token of the lease held for it.
BOARD_ENV = "HIL_BOARD"
TOKEN_ENV = "HIL_LEASE_TOKEN"


def handed_lease(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(board, token) of a lease handed to this process, if one was."""
    environ = os.environ if environ is None else environ
    board, token = environ.get(BOARD_ENV, ""), environ.get(TOKEN_ENV, "")
    if board and token and "," not in board:
        return board, token
    return None


def hand_over(board: str, token: str) -> dict[str, str]:
    """The environment entries that hand the lease on `board` to a command."""
    return {BOARD_ENV: board, TOKEN_ENV: token}
