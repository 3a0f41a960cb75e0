"""Selectors: the terms, what they match and the errors for malformed ones."""

from __future__ import annotations

import pytest

from pytest_hil.errors import SelectorError
from pytest_hil.lab.selector import parse_selector

LABELS = {"family": "rpi4", "arch": "arm64", "hdmi": "yes"}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("", True),
        ("family=rpi4", True),
        ("family=rpi3", False),
        ("arch!=armv7", True),
        ("arch!=arm64", False),
        ("hdmi", True),
        ("can", False),
        ("!can", True),
        ("!hdmi", False),
        ("family=rpi4, hdmi ,arch!=armv7", True),
        ("family=rpi4,can", False),
    ],
)
def test_terms_must_all_hold(text: str, matches: bool) -> None:
    assert parse_selector(text).matches(LABELS) is matches


def test_failing_lists_the_terms_that_do_not_hold() -> None:
    selector = parse_selector("family=rpi4,arch=x86,!hdmi")
    assert [str(term) for term in selector.failing(LABELS)] == ["arch=x86", "!hdmi"]


def test_named_selectors_expand() -> None:
    named = {"arm": parse_selector("arch=arm64")}
    assert str(parse_selector("@arm,hdmi", named)) == "arch=arm64,hdmi"


def test_selectors_combine_without_repeating_terms() -> None:
    assert str(parse_selector("a=1,b") & parse_selector("b,c")) == "a=1,b,c"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("family==rpi4", "term 'family==rpi4' uses '=='; write key=value"),
        ("family=", "term 'family=' has no value"),
        ("a,,b", "empty term (two commas, or a comma at an end)"),
        ("a,", "empty term (two commas, or a comma at an end)"),
        ("fam ily=x", "term 'fam ily=x' is not one of key=value"),
        ("@nope", "unknown named selector '@nope' (known: none are defined)"),
    ],
)
def test_malformed_selectors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(SelectorError, match=r"^selector .*: ") as raised:
        parse_selector(text)
    assert message in str(raised.value)
