"""A lab's boards as its lease store sees them now: free, held or broken, who holds each, who waits.

One reading serves `hil boards`, `hil leases` and `hil web` (pages and JSON alike), so they never
disagree; every value from the lab file is shown as it may be displayed (secrets masked).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pytest_hil.lab import Lab
from pytest_hil.leases import HistoryEntry, Holder, LeaseInfo, LeaseStore
from pytest_hil.secrets import mask, shown

#: A board's states, in the order the dashboard's filter offers them.
STATES = ("free", "held", "broken")


@dataclass(frozen=True)
class BoardStatus:
    """One board of the lab and what the store says about it."""

    name: str
    labels: dict[str, str]
    #: resource name -> driver kind
    resources: dict[str, str]
    host: str | None
    lease: LeaseInfo | None
    #: The board's most recently ended lease (how its last holder left it).
    last: HistoryEntry | None
    #: Who waits for it, first in line first.
    waiting: tuple[Holder, ...]

    @property
    def state(self) -> str:
        """held while leased; broken when its last session left it broken; free otherwise."""
        if self.lease is not None:
            return "held"
        if self.last is not None and self.last.outcome == "broken":
            return "broken"
        return "free"

    @property
    def broken_reason(self) -> str | None:
        return mask(self.last.reason or "") if self.state == "broken" and self.last is not None else None

    def to_json(self) -> dict[str, Any]:
        """The status as `hil boards --json` and `/api/boards` give it."""
        lease = self.lease
        return {
            "labels": self.labels,
            "resources": self.resources,
            "host": self.host,
            "state": self.state,
            "holder": holder_json(lease.holder) if lease else None,
            "since": lease.since if lease else None,
            "expires": lease.expires if lease else None,
            "broken_reason": self.broken_reason,
            "last": entry_json(self.last) if self.last else None,
            "queue": len(self.waiting),
            "waiting": [holder_json(holder) for holder in self.waiting],
        }


def holder_json(holder: Holder) -> dict[str, Any]:
    return {"user": holder.user, "host": holder.host, "pid": holder.pid, "job": holder.job, "text": str(holder)}


def entry_json(entry: HistoryEntry) -> dict[str, Any]:
    """An ended lease as `hil leases --history --json` and `/api/history` give it."""
    return {
        "board": entry.board,
        "holder": str(entry.holder),
        "started": entry.started,
        "ended": entry.ended,
        "outcome": entry.outcome,
        "reason": mask(entry.reason) if entry.reason else entry.reason,
    }


def board_statuses(lab: Lab, store: LeaseStore, only: Sequence[str] | None = None) -> list[BoardStatus]:
    """Every board of `lab` (or those named in `only`), in lab-file order, as `store` sees it now."""
    names = [name for name in lab.boards if only is None or name in only]
    holders = store.holders()
    waiters = store.waiters()
    last = store.last_ended(names)
    return [
        BoardStatus(
            name=name,
            labels={key: str(shown(value)) for key, value in spec.labels.items()},
            resources={resource.name: resource.kind for resource in spec.resources.values()},
            host=spec.host,
            lease=holders.get(name),
            last=last.get(name),
            waiting=tuple(waiters.get(name, ())),
        )
        for name, spec in ((name, lab.boards[name]) for name in names)
    ]
