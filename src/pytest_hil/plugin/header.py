"""The session header: which lab, which boards, which lease store; and what deserves a warning."""

from __future__ import annotations

import pytest

from pytest_hil.leases.urls import store_url
from pytest_hil.plugin.session import hil_session
from pytest_hil.secrets import mask


def pytest_report_header(config: pytest.Config) -> list[str]:
    session = hil_session(config)
    lab = session.lab
    if lab is None:
        return []
    store = store_url(session.settings.lease_url, lab.leases.url)
    boards = ", ".join(session.eligible) or "none"
    lines = [
        f"pytest-hil: lab {lab.name or '(unnamed)'} ({lab.path}, sha256 {lab.sha256[:12]}), boards: {boards}; "
        f"leases: {mask(store)}"
    ]
    lines += [f"pytest-hil: {warning}" for warning in lab.warnings]
    insecure = [
        f"{board.name}.{resource.name}"
        for board in lab.boards.values()
        for resource in board.resources.values()
        if getattr(resource.options, "insecure_host_key", False)
    ]
    if insecure:
        lines.append(f"pytest-hil: insecure SSH host keys (any key accepted) on {', '.join(insecure)}")
    return lines
