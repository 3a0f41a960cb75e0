"""Lines for the user's terminal while tests run: written with pytest's output capture suspended, so
they are seen at once (not swallowed into a test's captured output)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest


def capture_suspended(config: pytest.Config) -> contextlib.AbstractContextManager[None]:
    """pytest's output capture suspended (nothing to do with -p no:capture)."""
    capture = config.pluginmanager.get_plugin("capturemanager")
    return capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext()


def say(config: pytest.Config, text: str, **markup: Any) -> None:
    """Write `text` as a line on pytest's terminal, now, whatever capture is active."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    with capture_suspended(config):
        reporter.ensure_newline()
        reporter.write_line(text, **markup)
