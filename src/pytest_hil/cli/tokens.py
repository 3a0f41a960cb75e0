"""The tokens of leases taken with `hil lease`, per store, so later commands may use those boards.

One JSON file in the user's state folder, private (0600 from creation), updated under an exclusive
lock and replaced atomically, so parallel `hil lease` runs each keep their token.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pytest_hil.errors import HilError
from pytest_hil.leases import state_dir


class TokenFileError(HilError):
    """The tokens file cannot be read or written."""


def tokens_path() -> Path:
    return state_dir() / "tokens.json"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise TokenFileError(f"cannot keep lease tokens in {path}: {error.strerror or error}") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _read(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise TokenFileError(f"cannot read lease tokens from {path}: {error}") from None
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, dict[str, str]]) -> None:
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tokens-")  # 0600 from creation
    except OSError as error:
        raise TokenFileError(f"cannot write lease tokens to {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(descriptor, "w") as file:
            json.dump(data, file, indent=1)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise TokenFileError(f"cannot write lease tokens to {path}: {error.strerror or error}") from None


def tokens(url: str) -> dict[str, str]:
    """board -> token of this user's `hil lease` leases on the store at `url`."""
    path = tokens_path()
    with _locked(path):
        return dict(_read(path).get(url, {}))


def check_writable() -> None:
    """Raise `TokenFileError` now if a token could not be kept (before a lease is taken)."""
    path = tokens_path()
    with _locked(path):
        _write(path, _read(path))


def store_token(url: str, board: str, token: str | None) -> None:
    """Keep (or, with None, forget) the token of `board` on the store at `url`."""
    path = tokens_path()
    with _locked(path):
        data = _read(path)
        mine = data.setdefault(url, {})
        if token is None:
            mine.pop(board, None)
        else:
            mine[board] = token
        _write(path, data)
