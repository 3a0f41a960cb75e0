"""Where each test may run, as the controller learns it.

xdist's controller does not collect, and its scheduler sees only node ids. The routes therefore come
from a collection pass on the controller: `pytest --collect-only --hil-routes-out=FILE` with the run's
own arguments, which writes every test's route (the boards that can serve it, or its roles'). It costs
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
from pytest_hil.plugin.selection import plan_key


@dataclass(frozen=True)
class Route:
    """Where one test may run, from its `Plan`: as the scheduler uses it."""

    candidates: tuple[str, ...]
    roles: tuple[str, ...] | None
    reason: str | None

    @property
    def boards(self) -> tuple[str, ...]:
        """Every board the test could touch."""
        return self.roles if self.roles is not None else self.candidates


def write_routes(out: str, items: list[pytest.Item]) -> None:
    """Write the route of every test `items` has a plan for into file `out`."""
    routes = {}
    for item in items:
        plan = item.stash.get(plan_key, None)
        if plan is not None:
            roles = list(plan.roles.values()) if plan.roles is not None else None
            routes[item.nodeid] = {"candidates": plan.candidates, "roles": roles, "reason": plan.reason}
    Path(out).write_text(json.dumps(routes))


def collect_routes(config: pytest.Config) -> dict[str, Route]:
    """Run the collection pass with this run's arguments; node id -> route."""
    arguments = [argument for argument in config.invocation_params.args if argument != "--hil-dist"]
    with tempfile.TemporaryDirectory(prefix="hil-routes-") as folder:
        out = Path(folder) / "routes.json"
        command = [sys.executable, "-m", "pytest", *arguments, "--collect-only", "-q", f"--hil-routes-out={out}",
                   "-p", "no:xdist", "-p", "no:cacheprovider"]  # fmt: skip
        result = subprocess.run(command, cwd=config.invocation_params.dir, capture_output=True, text=True)
        if not out.exists():
            raise HilError(f"--hil-dist: collecting the tests failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        raw = json.loads(out.read_text())
    return {
        nodeid: Route(tuple(p["candidates"]), tuple(p["roles"]) if p["roles"] is not None else None, p["reason"])
        for nodeid, p in raw.items()
    }
