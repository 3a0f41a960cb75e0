"""Label selectors: `family=rpi4,hdmi,arch!=armv7,!broken`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pytest_hil.errors import SelectorError

_KEY = r"[A-Za-z0-9_][A-Za-z0-9_.\-/]*"
_VALUE = r"[^,=!\s]+"
_TERM = re.compile(
    rf"^(?:(?P<absent>!)(?P<akey>{_KEY})"
    rf"|(?P<key>{_KEY})(?:(?P<op>!=|=)(?P<value>{_VALUE}))?"
    rf"|@(?P<ref>{_KEY}))$"
)


@dataclass(frozen=True)
class Term:
    """One condition on a board's labels."""

    key: str
    op: str  # "=", "!=", "present" or "absent"
    value: str = ""

    def holds(self, labels: Mapping[str, str]) -> bool:
        if self.op == "present":
            return self.key in labels
        if self.op == "absent":
            return self.key not in labels
        if self.op == "=":
            return labels.get(self.key) == self.value
        return labels.get(self.key) != self.value

    def __str__(self) -> str:
        if self.op == "present":
            return self.key
        if self.op == "absent":
            return f"!{self.key}"
        return f"{self.key}{self.op}{self.value}"


@dataclass(frozen=True)
class Selector:
    """Terms that must all hold; the empty selector matches every board."""

    terms: tuple[Term, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(term.holds(labels) for term in self.terms)

    def failing(self, labels: Mapping[str, str]) -> list[Term]:
        """The terms that do not hold for these labels."""
        return [term for term in self.terms if not term.holds(labels)]

    def __and__(self, other: Selector) -> Selector:
        return Selector(self.terms + tuple(t for t in other.terms if t not in self.terms))

    def __str__(self) -> str:
        return ",".join(str(term) for term in self.terms)


def parse_selector(text: str, named: Mapping[str, Selector] | None = None) -> Selector:
    """Parse a selector; `@name` terms expand to the lab file's named selectors."""
    if not isinstance(text, str):
        raise SelectorError(f"a selector is a string like 'family=rpi4,hdmi', not {type(text).__name__}")
    if not text.strip():
        return Selector()
    terms: list[Term] = []
    for raw in text.split(","):
        part = raw.strip()
        match = _TERM.match(part)
        if match is None:
            raise SelectorError(_explain(text, part))
        if match["ref"]:
            if named is None or match["ref"] not in named:
                known = ", ".join(sorted(named or ())) or "none are defined"
                raise SelectorError(f"selector {text!r}: unknown named selector '@{match['ref']}' (known: {known})")
            terms.extend(named[match["ref"]].terms)
        elif match["absent"]:
            terms.append(Term(match["akey"], "absent"))
        elif match["op"]:
            terms.append(Term(match["key"], match["op"], match["value"]))
        else:
            terms.append(Term(match["key"], "present"))
    return Selector(tuple(dict.fromkeys(terms)))


def _explain(text: str, part: str) -> str:
    if not part:
        return f"selector {text!r}: empty term (two commas, or a comma at an end)"
    if "==" in part:
        return f"selector {text!r}: term {part!r} uses '=='; write key=value"
    if part.endswith(("=", "!=")):
        return f"selector {text!r}: term {part!r} has no value"
    return (
        f"selector {text!r}: term {part!r} is not one of key=value, key!=value, key, !key, @name "
        "(keys: letters, digits, _ . - /; values: no commas, spaces, '=' or '!')"
    )
