"""The lab file: reading, checking and the model it yields."""

from pytest_hil.lab.load import load_lab, parse_lab
from pytest_hil.lab.model import BoardSpec, Lab, LeaseSettings, ResourceSpec, ShellSpec
from pytest_hil.lab.selector import Selector, parse_selector

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
