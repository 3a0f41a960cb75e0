"""Property tests: whatever text arrives, the loader answers with a lab or a LabError, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_hil.errors import LabError
from pytest_hil.lab import parse_lab
from tests.conftest import SIM_LAB

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["version", "boards", "resources", "driver", "sim-power", "sim-console", "${HOME}", "${NOPE}"]),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=10), st.sampled_from(["version", "boards", "labels"])), children, max_size=4
        ),
    ),
    max_leaves=30,
)


def load_or_lab_error(text: str) -> None:
    try:
        parse_lab(text, "lab.yaml", Path("/tmp"), environ={"HOME": "/root"})
    except LabError as error:
        issues = error.issues
    else:
        return
    assert issues, "a LabError always names at least one mistake"
    assert all(str(issue).startswith("lab.yaml:") for issue in issues)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_arbitrary_yaml_documents_give_a_lab_or_a_lab_error(document: object) -> None:
    load_or_lab_error(yaml.safe_dump(document))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_gives_a_lab_or_a_lab_error(text: str) -> None:
    load_or_lab_error(text)


@st.composite
def mutated_labs(draw: st.DrawFn) -> str:
    text = SIM_LAB
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["delete", "insert", "duplicate-line", "drop-line"]))
        lines = text.splitlines(keepends=True)
        if action == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 10)) :]
        elif action == "insert":
            text = (
                text[:position]
                + draw(st.sampled_from([*":{}[],-&*!|>'\"#%@` \n\t", "${X}", "<<: *a"]))
                + text[position:]
            )
        elif lines:
            index = draw(st.integers(0, len(lines) - 1))
            lines.insert(index, lines[index]) if action == "duplicate-line" else lines.pop(index)
            text = "".join(lines)
    return text


@settings(max_examples=400, deadline=None)
@given(mutated_labs())
def test_mutated_valid_labs_give_a_lab_or_a_lab_error(text: str) -> None:
    load_or_lab_error(text)


def test_alias_bombs_are_refused() -> None:
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        text += f"{level}: &{level} [{', '.join([f'*{previous}'] * 10)}]\n"
    with pytest.raises(LabError) as raised:
        parse_lab(text, "lab.yaml", Path("/tmp"), environ={})
    assert any("document too large" in issue.message for issue in raised.value.issues)


def test_recursive_aliases_are_refused() -> None:
    with pytest.raises(LabError, match="recursive alias"):
        parse_lab("version: 1\nboards: &b {a: *b}\n", "lab.yaml", Path("/tmp"), environ={})


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(LabError, match="nested too deeply"):
        parse_lab("boards: " + "[" * 5000, "lab.yaml", Path("/tmp"), environ={})
