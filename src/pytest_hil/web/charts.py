"""Bar charts drawn on the server as SVG: no JavaScript, readable by screen readers (each bar has a title)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from html import escape

from pytest_hil.web.usage import Bucket

WIDTH, HEIGHT = 720, 150
#: Space for the axis labels: left of the bars and below them.
LEFT, BOTTOM, TOP = 40, 22, 8


def utilization_chart(title: str, buckets: Sequence[Bucket], zone: tzinfo, label_format: str, label_every: int) -> str:
    """A bar per bucket, its height the share leased; every `label_every`-th bucket is labelled
    (`label_format` is a strftime format, in `zone`)."""
    plot_width, plot_height = WIDTH - LEFT, HEIGHT - BOTTOM - TOP
    step = plot_width / max(len(buckets), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img"'
        f' aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for share in (0.0, 0.5, 1.0):
        y = TOP + plot_height * (1 - share)
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{share:.0%}</text>')
    for index, bucket in enumerate(buckets):
        x = LEFT + index * step
        height = plot_height * bucket.share
        when = datetime.fromtimestamp(bucket.start, zone)
        label = when.strftime(label_format)
        parts.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{TOP + plot_height - height:.1f}"'
            f' width="{max(step - 2, 1):.1f}" height="{height:.1f}">'
            f"<title>{escape(label)}: {bucket.share:.0%}</title></rect>"
        )
        if index % label_every == 0:
            parts.append(
                f'<text class="axis" x="{x + step / 2:.1f}" y="{HEIGHT - 6}"'
                f' text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
