"""Secrets never reach a report: failures (with `-l` locals too), captured output, skip reasons and
junit properties are masked before pytest's terminal, junit or any other plugin sees them."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from pytest_hil.secrets import mask


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    mask_report(report)
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, Any]:
    report = yield
    mask_report(report)
    return report


def mask_report(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Mask the report in place; a failure with a secret in its text becomes that text, masked."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        report.longrepr = (longrepr[0], longrepr[1], mask(str(longrepr[2])))
    elif longrepr is not None:
        text = str(longrepr)
        masked = mask(text)
        if masked != text:
            report.longrepr = masked
    report.sections = [(mask(title), mask(content)) for title, content in report.sections]
    if isinstance(report, pytest.TestReport):
        report.user_properties = [
            (name, mask(value) if isinstance(value, str) else value) for name, value in report.user_properties
        ]
