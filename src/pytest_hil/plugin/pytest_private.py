"""The pytest internals pytest-hil cannot do without, in one place, each with the reason no public
API serves. A pytest release that moves one breaks this module only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest


def junit_writer(config: pytest.Config) -> Any | None:
    """pytest's junit writer (`LogXML`), or None without --junitxml.

    Why: `record_testsuite_property` is a fixture, so it cannot record what is known outside a test
    (the lab at configure time, the leases a --hil-dist controller takes: it runs no test), and
    GitLab's `[[ATTACHMENT|path]]` lines need the test case's `system-out`, which no hook exposes.
    """
    from _pytest.junitxml import xml_key

    return config.stash.get(xml_key, None)


def fixture_definitions(node: Any) -> Mapping[str, Sequence[Any]]:
    """Argument name -> the fixture definitions it resolves to for test `node` (closest last).

    Why: whether an argument resolves to one of our fixtures or to a user's own of the same name is
    known only to pytest's fixture info; the public `fixturenames` has the names alone.
    """
    info = getattr(node, "_fixtureinfo", None)
    return info.name2fixturedefs if info is not None else {}


def base_temp(config: pytest.Config) -> Path:
    """The session's base temporary folder.

    Why: the --hil-dist controller runs no test, so it cannot ask for the `tmp_path_factory` fixture.
    """
    factory: pytest.TempPathFactory = config._tmp_path_factory  # type: ignore[attr-defined]
    return factory.getbasetemp()
