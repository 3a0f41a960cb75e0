"""The pytest plugin, registered as the `pytest11` entry point `hil`; one module per concern."""

from __future__ import annotations

import pytest

pytest_plugins = [
    "pytest_hil.plugin.options",
    "pytest_hil.plugin.session",
    "pytest_hil.plugin.selection",
    "pytest_hil.plugin.fixtures",
    "pytest_hil.plugin.report",
    "pytest_hil.plugin.junit",
    "pytest_hil.plugin.masking",
    "pytest_hil.plugin.header",
]


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_hil.plugin import pytest_hookspecs

    pluginmanager.add_hookspecs(pytest_hookspecs)
