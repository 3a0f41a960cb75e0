"""The lab file: reading, checking and the model it yields.

`load_lab` and `parse_lab` (PyYAML, the schema checks) are imported at first use: the model alone
is what a run without a lab file needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_hil.lab.model import BoardSpec, Lab, LeaseSettings, ResourceSpec, ShellSpec
from pytest_hil.lab.selector import Selector, parse_selector
from pytest_hil.lazy import lazy_names

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


__getattr__ = lazy_names(__name__, {"load_lab": "pytest_hil.lab.load", "parse_lab": "pytest_hil.lab.load"})
