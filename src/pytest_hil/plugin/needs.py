"""What a test needs from the lab: its `hil` markers plus every resource fixture it requests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_hil.errors import SelectorError
from pytest_hil.lab.selector import Selector, parse_selector

MARKER = "hil"
_KEYWORDS = ("selector", "board", "each", "roles")
#: Attribute on the plugin's board and resource fixture functions ("board" or "resource"), so that a
#: user's own fixture of the same name is told apart from ours.
FIXTURE_FLAG = "_pytest_hil_fixture"


class MarkerError(ValueError):
    """A `hil` marker a user wrote wrong; the message is ready to show."""


@dataclass(frozen=True)
class Needs:
    """A test's needs: `roles` maps role -> selector for multi-board tests."""

    selector: Selector
    board: str | None
    each: bool
    roles: Mapping[str, Selector] | None
    resources: tuple[str, ...]
    marked: bool
    uses_board: bool

    @property
    def is_hil(self) -> bool:
        return self.marked or self.uses_board

    def describe(self) -> str:
        parts = []
        if self.board:
            parts.append(f"board {self.board}")
        if self.selector.terms:
            parts.append(str(self.selector))
        if self.resources:
            parts.append("resource " + ", ".join(self.resources))
        return " and ".join(parts) or "any board"


def needs_of(
    markers: Iterable[pytest.Mark],
    fixturenames: Sequence[str],
    name2fixturedefs: Mapping[str, Sequence[Any]],
    named: Mapping[str, Selector],
    parametrized: frozenset[str] = frozenset(),
) -> Needs:
    """Combine the markers (closest first) and the requested resource fixtures into `Needs`.

    In a test marked `hil`, an argument no fixture provides is taken for a resource no board in this
    lab has (`can0` in a lab without CAN), so the test skips naming it instead of erroring.
    """
    selector = Selector()
    board: str | None = None
    each: bool | None = None
    roles: dict[str, Selector] | None = None
    marked = False
    for mark in markers:
        marked = True
        args = _marker_arguments(mark)
        if args.get("selector"):
            selector = selector & _parse(args["selector"], named, "selector")
        if board is None and args.get("board") is not None:
            board = args["board"]
        if each is None and "each" in args:
            each = args["each"]
        if roles is None and args.get("roles") is not None:
            roles = {role: _parse(text, named, f"role {role!r}") for role, text in args["roles"].items()}
    if roles is not None and each:
        raise MarkerError("hil marker: each=True cannot be combined with roles")
    resources = tuple(
        name
        for name in fixturenames
        if _flag(name, name2fixturedefs) == "resource"
        or (marked and _is_undefined(name, name2fixturedefs, parametrized))
    )
    uses_board = bool(resources) or any(_flag(name, name2fixturedefs) == "board" for name in fixturenames)
    return Needs(selector, board, bool(each), roles, resources, marked, uses_board)


def _flag(name: str, name2fixturedefs: Mapping[str, Sequence[Any]]) -> str | None:
    """Which of our fixtures `name` resolves to for this test, if it is ours at all."""
    definitions = name2fixturedefs.get(name)
    return getattr(definitions[-1].func, FIXTURE_FLAG, None) if definitions else None


def _is_undefined(name: str, name2fixturedefs: Mapping[str, Sequence[Any]], parametrized: frozenset[str]) -> bool:
    return (
        name not in name2fixturedefs
        and name not in parametrized
        and name != "request"
        and not name.startswith("_hil")
        and name.isidentifier()
    )


def _marker_arguments(mark: pytest.Mark) -> dict[str, Any]:
    if len(mark.args) > 1:
        raise MarkerError(f"hil marker takes one selector string, got {len(mark.args)} positional arguments")
    unknown = sorted(set(mark.kwargs) - set(_KEYWORDS))
    if unknown:
        raise MarkerError(f"hil marker: unknown keyword {', '.join(unknown)} (known: {', '.join(_KEYWORDS)})")
    args = dict(mark.kwargs)
    if mark.args:
        if "selector" in args:
            raise MarkerError("hil marker: selector given twice (positional and keyword)")
        args["selector"] = mark.args[0]
    if args.get("selector") is not None and not isinstance(args["selector"], str):
        raise MarkerError(f"hil marker: selector must be a string like 'family=rpi4', not {args['selector']!r}")
    if args.get("board") is not None and not isinstance(args["board"], str):
        raise MarkerError(f"hil marker: board must be a board name, not {args['board']!r}")
    if "each" in args and not isinstance(args["each"], bool):
        raise MarkerError(f"hil marker: each must be True or False, not {args['each']!r}")
    roles = args.get("roles")
    if roles is not None and not (
        isinstance(roles, dict) and roles and all(isinstance(k, str) and isinstance(v, str) for k, v in roles.items())
    ):
        raise MarkerError("hil marker: roles must be a non-empty dict of role name -> selector string")
    return args


def _parse(text: str, named: Mapping[str, Selector], what: str) -> Selector:
    try:
        return parse_selector(text, named)
    except SelectorError as error:
        raise MarkerError(f"hil marker {what}: {error}") from None
