"""Who may act through the dashboard: an operator who entered the token from `--token-file`.

The token is never stored in the browser: after it is entered, a cookie carries the operator's name
and a MAC of it under the token (HttpOnly, SameSite=Strict). Each form carries a second MAC (the
CSRF token) bound to that cookie, and requests from another origin are refused, so a page on another
site cannot make a signed-in browser release a board.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import stat
from pathlib import Path

from pytest_hil.errors import HilError
from pytest_hil.secrets import register

#: A token shorter than this is refused: it could be guessed.
MIN_TOKEN_LENGTH = 16
COOKIE = "hil_operator"
#: Operator names: what a history reason may show, nothing that needs escaping.
OPERATOR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class TokenFileError(HilError):
    """The token file is missing, unsafe or too short."""


def read_token(path: str) -> str:
    """The operator token in `path`: one line, at least MIN_TOKEN_LENGTH characters, in a file only
    its owner can read (as ssh insists for keys). The token is masked wherever it could show."""
    file = Path(path).expanduser()
    try:
        info = file.stat()
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TokenFileError(
            f"--token-file {path}: cannot read it ({getattr(error, 'strerror', None) or error})"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise TokenFileError(f"--token-file {path}: not a regular file")
    if info.st_mode & 0o077:
        raise TokenFileError(f"--token-file {path}: readable by others (mode {info.st_mode & 0o777:o}): chmod 600 it")
    token = text.strip()
    if len(token) < MIN_TOKEN_LENGTH or "\n" in token:
        raise TokenFileError(
            f"--token-file {path}: the token must be one line of at least {MIN_TOKEN_LENGTH} characters"
            " (e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe())'`)"
        )
    register(token)
    return token


class Access:
    """Checks for one token; None: the dashboard is read-only and every action is refused."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        #: Keys derived from the token, one per use, so a cookie's MAC is never a valid CSRF token.
        self._keys = {use: _derive(token, use) for use in ("cookie", "csrf")} if token else {}

    @property
    def enabled(self) -> bool:
        return self.token is not None

    def token_matches(self, offered: str) -> bool:
        return self.token is not None and hmac.compare_digest(offered.strip().encode(), self.token.encode())

    def cookie_for(self, operator: str) -> str:
        return f"{operator}:{self._mac('cookie', operator)}"

    def operator(self, cookie: str | None) -> str | None:
        """The operator a cookie names, if the cookie is genuine."""
        if not self.enabled or not cookie or ":" not in cookie:
            return None
        operator, _, mac = cookie.rpartition(":")
        if OPERATOR_NAME.fullmatch(operator) and hmac.compare_digest(mac, self._mac("cookie", operator)):
            return operator
        return None

    def csrf_for(self, cookie: str) -> str:
        return self._mac("csrf", cookie)

    def csrf_matches(self, cookie: str, offered: str) -> bool:
        return self.enabled and hmac.compare_digest(offered, self.csrf_for(cookie))

    def _mac(self, use: str, text: str) -> str:
        return hmac.new(self._keys[use], text.encode(), hashlib.sha256).hexdigest()


def _derive(token: str, use: str) -> bytes:
    return hmac.new(token.encode(), f"pytest-hil web {use}".encode(), hashlib.sha256).digest()
