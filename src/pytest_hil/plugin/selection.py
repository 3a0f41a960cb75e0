"""Which board serves which test: decided at collection, with a reason for every test none can serve."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest

from pytest_hil.board import Board
from pytest_hil.lab.model import BoardSpec
from pytest_hil.plugin.needs import FIXTURE_FLAG, MARKER, MarkerError, Needs, needs_of
from pytest_hil.plugin.pytest_private import fixture_definitions
from pytest_hil.plugin.session import HilSession, hil_session

#: The hidden fixture `each=True` parametrizes with board names.
EACH_FIXTURE = "_hil_each"
NO_LAB = "no lab file: pass --hil-lab, set the hil_lab ini option or HIL_LAB"


@dataclass(frozen=True)
class Plan:
    """How a test is served: candidate boards (lab order), a role -> board map, or why it cannot be."""

    needs: Needs
    candidates: tuple[str, ...] = ()
    roles: Mapping[str, str] | None = None
    reason: str | None = None


plan_key = pytest.StashKey[Plan]()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    session = hil_session(metafunc.config)
    if not session.active or not any("each" in mark.kwargs for mark in metafunc.definition.iter_markers(MARKER)):
        return  # only each=True parametrizes; the needs are worked out once per test, at collection's end
    try:
        needs = _needs(metafunc.definition, metafunc.fixturenames, session)
    except MarkerError:
        return  # reported once, with the test's id, at collection's end
    if not needs.each:
        return
    names = [board.name for board in session.eligible_boards() if why_not(board.spec, needs) is None]
    if names:
        metafunc.fixturenames.append(EACH_FIXTURE)
        metafunc.parametrize(EACH_FIXTURE, names, ids=names, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    session = hil_session(config)
    errors = []
    remote_only: dict[str, list[str]] = {}  # lab-host boards -> tests no other board can serve
    # a plain run never drives a lab host's boards from here (a --collect-only pass opens nothing)
    here_only = session.active and not session.supply.serves_lab_host_boards and not config.getoption("collectonly")
    #: Items with the same markers, the same fixtures (by definition) and board share needs and plan:
    #: a module of a thousand plain tests asking for `console` works them out once.
    worked_out: dict[tuple[object, ...], tuple[Needs, Plan | None]] = {}
    for item in items:
        if not session.active:  # markers stay inert: nothing to check them against (named selectors)
            if item.get_closest_marker("hil") is not None or _requests_hil_fixtures(item):
                item.add_marker(pytest.mark.skip(reason=NO_LAB))
            continue
        fixturenames = tuple(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        key = (
            tuple(id(definitions[-1]) for definitions in fixture_definitions(item).values() if definitions),
            tuple(id(mark) for mark in item.iter_markers()),
            fixturenames,
            callspec.params.get(EACH_FIXTURE) if callspec is not None else None,
        )
        known = worked_out.get(key)
        if known is None:
            try:
                needs = _needs(item, fixturenames, session)
            except MarkerError as error:
                errors.append(f"{item.nodeid}: {error}")
                continue
            known = worked_out[key] = (needs, _plan(item, needs, session) if needs.is_hil else None)
        needs, plan = known
        if plan is None:
            continue
        assert session.lab is not None
        unknown = [name for name in (needs.board,) if name and name not in session.lab.boards]
        if unknown:
            errors.append(f"{item.nodeid}: hil marker names board {unknown[0]!r}, which {session.lab.path} lacks")
            continue
        if here_only and plan.reason is None:
            plan = _without_lab_host_boards(plan, session, item.nodeid, remote_only)
        item.stash[plan_key] = plan
        if plan.reason and not session.settings.strict:
            item.add_marker(pytest.mark.skip(reason=plan.reason))
    if remote_only:
        errors.append(_remote_only_error(remote_only, session))
    if errors:
        raise pytest.UsageError("\n".join(errors))


def _without_lab_host_boards(plan: Plan, session: HilSession, nodeid: str, remote_only: dict[str, list[str]]) -> Plan:
    """The plan with the boards attached to lab hosts left out; a test only they can serve is noted."""
    hosted = {name for name, board in session.boards.items() if board.spec.host}
    used = set(plan.roles.values()) if plan.roles is not None else set(plan.candidates)
    if not used & hosted:
        return plan
    here = [name for name in plan.candidates if name not in hosted]
    if plan.roles is None and here:
        return replace(plan, candidates=tuple(here))
    key = ", ".join(f"{name} (host: {session.boards[name].spec.host})" for name in sorted(used & hosted))
    remote_only.setdefault(key, []).append(nodeid)
    return plan


def _remote_only_error(remote_only: dict[str, list[str]], session: HilSession) -> str:
    lines = []
    for boards, nodeids in remote_only.items():
        shown = ", ".join(nodeids[:3]) + (f" and {len(nodeids) - 3} more" if len(nodeids) > 3 else "")
        lines.append(f"pytest-hil: {shown}: only {boards} can serve it, attached to a lab host")
    lines.append(
        "pytest-hil: a plain run drives only the boards attached to this machine: run with --hil-dist (each"
        " lab host's boards get their worker there), or deselect those tests (-k, or a --hil-select that"
        " leaves them out)"
    )
    return "\n".join(lines)


def _needs(node: Any, fixturenames: Sequence[str], session: HilSession) -> Needs:
    name2fixturedefs = fixture_definitions(node)
    named = session.lab.selectors if session.lab else {}
    parametrized = frozenset(name.strip() for mark in node.iter_markers("parametrize") for name in _argnames(mark))
    return needs_of(node.iter_markers(MARKER), fixturenames, name2fixturedefs, named, parametrized)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Under --hil-strict a test no board can serve is an error, also when it asks for no HIL fixture."""
    plan = item.stash.get(plan_key, None)
    if plan is not None and plan.reason and hil_session(item.config).settings.strict:
        pytest.fail(f"no board can serve this test (--hil-strict): {plan.reason}", pytrace=False)


def _requests_hil_fixtures(item: pytest.Item) -> bool:
    definitions = fixture_definitions(item)
    return any(getattr(defs[-1].func, FIXTURE_FLAG, None) for name, defs in definitions.items() if defs)


def _argnames(mark: pytest.Mark) -> Sequence[str]:
    names = mark.args[0] if mark.args else mark.kwargs.get("argnames", ())
    return names.split(",") if isinstance(names, str) else list(names)


def _plan(item: pytest.Item, needs: Needs, session: HilSession) -> Plan:
    boards = list(session.eligible_boards())
    if needs.roles is not None:
        return _plan_roles(needs, boards)
    callspec = getattr(item, "callspec", None)
    if needs.each and callspec is not None and EACH_FIXTURE in callspec.params:
        return Plan(needs, candidates=(callspec.params[EACH_FIXTURE],))
    candidates = tuple(board.name for board in boards if why_not(board.spec, needs) is None)
    if candidates:
        return Plan(needs, candidates=candidates)
    return Plan(needs, reason=_no_board_reason(needs, session))


def why_not(spec: BoardSpec, needs: Needs) -> str | None:
    """Why `spec` cannot serve `needs`, or None when it can."""
    if needs.board is not None and spec.name != needs.board:
        return f"it is not {needs.board}"
    failing = needs.selector.failing(spec.labels)
    if failing:
        return ", ".join(_explain_term(term.key, term.op, term.value, spec.labels) for term in failing)
    missing = []
    for name in needs.resources:
        if name == "shell":
            if spec.shell_console() is None:
                missing.append("no console for a shell")
            continue
        found = spec.resource_for(name)
        if not found:
            missing.append(f"no resource {name}")
        elif isinstance(found, list):
            missing.append(f"{len(found)} {name} resources ({', '.join(r.name for r in found)}), none called {name}")
    return "; ".join(missing) or None


def _explain_term(key: str, op: str, value: str, labels: Mapping[str, str]) -> str:
    if op == "absent":
        return f"has label {key}"
    if key not in labels:
        return f"no label {key}"
    if op == "=":
        return f"{key} is {labels[key]!r}, not {value!r}"
    return f"{key} is {value!r}"


def _no_board_reason(needs: Needs, session: HilSession) -> str:
    assert session.lab is not None
    if not session.eligible:
        return f"needs {needs.describe()}: no board left after --hil-board/--hil-select"
    reasons = [f"{board.name}: {why_not(board.spec, needs)}" for board in session.eligible_boards()]
    shown = "; ".join(reasons[:4]) + (f"; and {len(reasons) - 4} more" if len(reasons) > 4 else "")
    return f"needs {needs.describe()}: no board has it ({shown})"


def _plan_roles(needs: Needs, boards: list[Board]) -> Plan:
    assert needs.roles is not None
    options = []
    for index, (role, selector) in enumerate(needs.roles.items()):
        # the first role also carries the test's own selector, board and resource fixtures
        if index == 0:
            role_needs = replace(needs, selector=needs.selector & selector, roles=None)
        else:
            role_needs = replace(needs, selector=selector, board=None, resources=(), roles=None)
        fit = [board.name for board in boards if why_not(board.spec, role_needs) is None]
        if not fit:
            return Plan(needs, reason=f"role {role} needs {role_needs.describe()}: no board has it")
        options.append(fit)
    chosen = _distinct(options, [])
    if chosen is None:
        return Plan(needs, reason=f"roles {', '.join(needs.roles)} need distinct boards: too few match")
    return Plan(needs, roles=dict(zip(needs.roles, chosen, strict=True)))


def _distinct(options: list[list[str]], taken: list[str]) -> list[str] | None:
    if len(taken) == len(options):
        return taken
    for name in options[len(taken)]:
        if name not in taken:
            found = _distinct(options, [*taken, name])
            if found is not None:
                return found
    return None
