"""What a finished test tells the lab's hooks."""

from __future__ import annotations

import warnings
from collections.abc import Generator
from typing import Any

import pytest

from pytest_hil.plugin.fixtures import serving_key


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    serving = item.stash.get(serving_key, None)
    if serving is None or not (report.when == "call" or (report.when == "setup" and report.failed)):
        return
    for board in serving.values():
        try:
            item.config.hook.pytest_hil_after_test(board=board, item=item, report=report)
        except Exception as error:
            warnings.warn(
                pytest.PytestWarning(f"{item.nodeid}: pytest_hil_after_test failed on {board.name}: {error!r}"),
                stacklevel=1,
            )
