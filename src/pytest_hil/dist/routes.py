"""What each test needs, as the controller learns it.

xdist's controller does not collect, and its scheduler sees only node ids. The needs therefore come
from a collection pass on the controller: `pytest --collect-only --hil-plans-out=FILE` with the run's
own arguments, which writes every test's plan (the boards that can serve it, or its roles). It costs
one collection (about a second) but needs nothing from the workers, which may run on other hosts, and
the controller knows which boards to lease before any worker starts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_hil.errors import HilError


@dataclass(frozen=True)
class TestPlan:
    """One test's needs as the scheduler uses them."""

    candidates: tuple[str, ...]
    roles: tuple[str, ...] | None
    reason: str | None

    @property
    def boards(self) -> tuple[str, ...]:
        """Every board the test could touch."""
        return self.roles if self.roles is not None else self.candidates


def write_plans(path: Path, plans: dict[str, TestPlan]) -> None:
    path.write_text(
        json.dumps(
            {nodeid: {"candidates": p.candidates, "roles": p.roles, "reason": p.reason} for nodeid, p in plans.items()}
        )
    )


def collect_plans(config: pytest.Config) -> dict[str, TestPlan]:
    """Run the collection pass with this run's arguments; node id -> plan."""
    arguments = [argument for argument in config.invocation_params.args if argument != "--hil-dist"]
    with tempfile.TemporaryDirectory(prefix="hil-plans-") as folder:
        out = Path(folder) / "plans.json"
        command = [sys.executable, "-m", "pytest", *arguments, "--collect-only", "-q", f"--hil-plans-out={out}",
                   "-p", "no:xdist", "-p", "no:cacheprovider"]  # fmt: skip
        result = subprocess.run(command, cwd=config.invocation_params.dir, capture_output=True, text=True)
        if not out.exists():
            raise HilError(f"--hil-dist: collecting the tests failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        raw = json.loads(out.read_text())
    return {
        nodeid: TestPlan(tuple(p["candidates"]), tuple(p["roles"]) if p["roles"] is not None else None, p["reason"])
        for nodeid, p in raw.items()
    }
