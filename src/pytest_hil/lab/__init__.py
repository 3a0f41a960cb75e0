"""The lab file: reading, checking and the model it yields.

`load_lab` and `parse_lab` (PyYAML, the schema checks) are imported at first use: the model alone
is what a run without a lab file needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_hil.lab.model import BoardSpec, Lab, LeaseSettings, ResourceSpec, ShellSpec
from pytest_hil.lab.selector import Selector, parse_selector

if TYPE_CHECKING:
    from pytest_hil.lab.load import load_lab, parse_lab

__all__ = [
    "BoardSpec",
    "Lab",
    "LeaseSettings",
    "ResourceSpec",
    "Selector",
    "ShellSpec",
    "load_lab",
    "parse_lab",
    "parse_selector",
]


def __getattr__(name: str) -> Any:
    if name not in ("load_lab", "parse_lab"):
        raise AttributeError(f"module 'pytest_hil.lab' has no attribute {name!r}")
    from pytest_hil.lab import load

    value = getattr(load, name)
    globals()[name] = value
    return value
