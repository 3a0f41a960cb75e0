"""Utilization: the share of each hour or day a board was leased, in the viewer's time zone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo


@dataclass(frozen=True)
class Bucket:
    """One hour or day: when it starts (epoch), how long it is (up to now), the share leased."""

    start: float
    length: float
    share: float


def hours(spans: Sequence[tuple[float, float]], now: float, zone: tzinfo, count: int = 24) -> list[Bucket]:
    """The last `count` hours, the current (partial) one last."""
    here = datetime.fromtimestamp(now, zone).replace(minute=0, second=0, microsecond=0)
    starts = [(here - timedelta(hours=back)).timestamp() for back in range(count - 1, -1, -1)]
    return _buckets(spans, starts, now)


def days(spans: Sequence[tuple[float, float]], now: float, zone: tzinfo, count: int = 30) -> list[Bucket]:
    """The last `count` days, midnight to midnight where the viewer is, today (partial) last."""
    today = datetime.fromtimestamp(now, zone).date()
    starts = []
    for back in range(count - 1, -1, -1):
        day = today - timedelta(days=back)
        starts.append(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())  # 23 or 25 h across DST
    return _buckets(spans, starts, now)


def _buckets(spans: Sequence[tuple[float, float]], starts: Sequence[float], now: float) -> list[Bucket]:
    ends = [*starts[1:], now]
    buckets = []
    for start, end in zip(starts, ends, strict=True):
        busy = sum(max(0.0, min(end, stop) - max(start, begin)) for begin, stop in spans)
        length = max(end - start, 1e-9)
        buckets.append(Bucket(start, end - start, min(busy / length, 1.0)))
    return buckets
