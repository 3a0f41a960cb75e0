"""The dashboard's pages as HTML, rendered on the server. Every value is escaped here; values from the
lab file arrive already masked (`lab_status`), and the app masks whole responses once more.

Each page has a `#live` part that open pages fetch again (as a fragment) when the lab changes; the
filter forms stay outside it, so a refresh never eats what a viewer is typing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone, tzinfo
from html import escape
from urllib.parse import urlencode

from pytest_hil.lab_status import STATES, BoardStatus
from pytest_hil.leases import HistoryEntry, Holder
from pytest_hil.web.charts import utilization_chart
from pytest_hil.web.usage import Bucket

#: Outcomes a lease can end with, as the history filter offers them.
OUTCOMES = ("released", "forced", "broken", "expired")


def h(value: object) -> str:
    return escape(str(value), quote=True)


def when(epoch: float, zone: tzinfo, seconds: bool = False) -> str:
    """A moment in the viewer's zone; the page's script rewrites it in the browser's own zone."""
    moment = datetime.fromtimestamp(epoch, zone)
    text = moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    iso = datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")
    return f'<time datetime="{h(iso)}" data-epoch="{epoch:.3f}"{" data-seconds" if seconds else ""}>{h(text)}</time>'


def link(path: str, query: Mapping[str, object] | None = None) -> str:
    kept = {key: value for key, value in (query or {}).items() if value not in (None, "")}
    return h(path + ("?" + urlencode(kept) if kept else ""))


def layout(title: str, lab: str, body: str, *, operator: str | None, actions: bool, here: str) -> str:
    """A whole page: header, navigation, the body, the live-status indicator."""
    if not actions:
        who = '<span class="muted">read-only</span>'
    elif operator:
        who = f'signed in as <b>{h(operator)}</b> <a href="{link("/logout", {"next": here})}">sign out</a>'
    else:
        who = f'<a href="{link("/login", {"next": here})}">sign in</a> to act'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{h(title)} · {h(lab)}</title><link rel="stylesheet" href="/static/hil.css"></head>
<body><header><a class="lab" href="/">{h(lab)}</a>
<nav><a href="/">Boards</a> <a href="/history">History</a></nav>
<span id="live-status" class="down" title="live updates">connecting…</span><span class="who">{who}</span></header>
<main>{body}</main>
<script src="/static/hil.js"></script></body></html>
"""


def holder_text(holder: Holder) -> str:
    return h(holder)


def board_list(
    statuses: Sequence[BoardStatus],
    shown: Sequence[BoardStatus],
    zone: tzinfo,
    *,
    selector: str,
    state: str,
    problem: str | None,
) -> tuple[str, str]:
    """The board list page: (the filters, the live part)."""
    options = "".join(
        f'<option value="{value}"{" selected" if value == state else ""}>{label}</option>'
        for value, label in (("", "any state"), *((name, name) for name in STATES))
    )
    filters = f"""<h1>Boards</h1>
<form class="filters" method="get" action="/">
<label>Labels <input name="select" value="{h(selector)}" placeholder="family=rpi4,!broken" size="30"></label>
<label>State <select name="state">{options}</select></label> <button type="submit">Filter</button>
{'<a href="/">clear</a>' if selector or state else ""}</form>
{f'<p class="problem" role="alert">{h(problem)}</p>' if problem else ""}"""
    return filters, board_table(statuses, shown, zone)


def board_table(statuses: Sequence[BoardStatus], shown: Sequence[BoardStatus], zone: tzinfo) -> str:
    counts = {state: sum(1 for status in statuses if status.state == state) for state in STATES}
    waiting = sum(len(status.waiting) for status in statuses)
    summary = (
        f"{len(statuses)} boards: {counts['free']} free, {counts['held']} held, {counts['broken']} broken;"
        f" {waiting} waiting" + (f" · showing {len(shown)}" if len(shown) != len(statuses) else "")
    )
    rows = []
    for status in shown:
        lease = status.lease
        labels = " ".join(f'<span class="label">{h(key)}={h(value)}</span>' for key, value in status.labels.items())
        resources = ", ".join(f"{h(name)} <small>({h(kind)})</small>" for name, kind in status.resources.items())
        if lease is not None:
            holder, since, until = holder_text(lease.holder), when(lease.since, zone), when(lease.expires, zone, True)
        elif status.state == "broken" and status.last is not None:  # since its last session left it broken
            holder, since = (
                f'<span class="reason">{h(status.broken_reason or "")}</span>',
                when(status.last.ended, zone),
            )
            until = ""
        else:
            holder, since, until = "", "", ""
        queue = str(len(status.waiting))
        if status.waiting:
            queue += ": " + ", ".join(holder_text(waiter) for waiter in status.waiting)
        rows.append(
            f'<tr data-board="{h(status.name)}" data-state="{status.state}">'
            f'<td><a href="{link("/boards/" + status.name)}">{h(status.name)}</a></td><td>{labels}</td>'
            f'<td>{resources}</td><td><span class="state {status.state}">{status.state}</span></td>'
            f"<td>{holder}</td><td>{since}</td><td>{until}</td><td>{queue}</td></tr>"
        )
    body = "".join(rows) or '<tr><td colspan="8" class="muted">no board matches</td></tr>'
    return f"""<p class="summary">{h(summary)}</p>
<table class="boards"><thead><tr><th>Board</th><th>Labels</th><th>Resources</th><th>State</th><th>Holder</th>
<th>Since</th><th>Expected end</th><th>Queue</th></tr></thead><tbody>{body}</tbody></table>"""


def history_rows(entries: Sequence[HistoryEntry], zone: tzinfo, with_board: bool) -> str:
    rows = []
    for entry in entries:
        board = f'<td><a href="{link("/boards/" + entry.board)}">{h(entry.board)}</a></td>' if with_board else ""
        rows.append(
            f'<tr class="{h(entry.outcome)}">{board}<td>{holder_text(entry.holder)}</td>'
            f"<td>{when(entry.started, zone, True)}</td><td>{when(entry.ended, zone, True)}</td>"
            f'<td><span class="outcome {h(entry.outcome)}">{h(entry.outcome)}</span></td>'
            f'<td class="reason">{h(entry.reason or "")}</td></tr>'
        )
    span = 6 if with_board else 5
    body = "".join(rows) or f'<tr><td colspan="{span}" class="muted">no ended leases</td></tr>'
    head = "<th>Board</th>" if with_board else ""
    return (
        f'<table class="history"><thead><tr>{head}<th>Holder</th><th>Start</th><th>End</th><th>Outcome</th>'
        f"<th>Reason</th></tr></thead><tbody>{body}</tbody></table>"
    )


def pager(path: str, query: Mapping[str, object], page: int, more: bool) -> str:
    parts = []
    if page > 1:
        parts.append(f'<a rel="prev" href="{link(path, {**query, "page": page - 1})}">← newer</a>')
    parts.append(f"page {page}")
    if more:
        parts.append(f'<a rel="next" href="{link(path, {**query, "page": page + 1})}">older →</a>')
    return f'<p class="pager">{" · ".join(parts)}</p>'


def board_page(
    status: BoardStatus,
    options: Mapping[str, Mapping[str, object]],
    entries: Sequence[HistoryEntry],
    zone: tzinfo,
    *,
    page: int,
    more: bool,
    hours: Sequence[Bucket],
    days: Sequence[Bucket],
    failures: int,
    action: str,
) -> tuple[str, str]:
    """A board's page: (its title and resources, the live part: state, charts, history, the action)."""
    labels = " ".join(f'<span class="label">{h(key)}={h(value)}</span>' for key, value in status.labels.items())
    resources = "".join(
        f"<tr><td>{h(name)}</td><td>{h(kind)}</td><td><code>"
        + h(", ".join(f"{key}={value}" for key, value in options.get(name, {}).items()))
        + "</code></td></tr>"
        for name, kind in status.resources.items()
    )
    head = f"""<h1>{h(status.name)}</h1><p>{labels or '<span class="muted">no labels</span>'}
{f"· on lab host <code>{h(status.host)}</code>" if status.host else ""}</p>
<table class="resources"><thead><tr><th>Resource</th><th>Driver</th><th>Options</th></tr></thead>
<tbody>{resources}</tbody></table>"""
    lease = status.lease
    if lease is not None:
        state = (
            f"held by {holder_text(lease.holder)} since {when(lease.since, zone)},"
            f" expected end {when(lease.expires, zone, True)}"
        )
    elif status.state == "broken":
        state = f'broken: <span class="reason">{h(status.broken_reason or "")}</span>'
    else:
        state = "free"
    waiting = ", ".join(holder_text(waiter) for waiter in status.waiting) or "nobody"
    hourly = utilization_chart(f"{status.name}: share leased per hour, last 24 hours", hours, zone, "%H:00", 6)
    daily = utilization_chart(f"{status.name}: share leased per day, last 30 days", days, zone, "%d %b", 5)
    live = f"""<p class="status"><span class="state {status.state}">{status.state}</span> {state}</p>
<p>Waiting: {len(status.waiting)} ({waiting}) · Failures (broken or expired): <b class="failures">{failures}</b></p>
{action}
<h2>Utilization</h2><figure>{hourly}<figcaption>per hour, last 24 hours</figcaption></figure>
<figure>{daily}<figcaption>per day, last 30 days</figcaption></figure>
<h2>History</h2>{history_rows(entries, zone, with_board=False)}
{pager("/boards/" + status.name, {}, page, more)}"""
    return head, live


def release_form(board: str, csrf: str) -> str:
    return f"""<form class="release" method="post" action="{link("/boards/" + board + "/release")}">
<input type="hidden" name="csrf" value="{h(csrf)}">
<label>Reason <input name="reason" required maxlength="200" size="40" placeholder="why it must be freed"></label>
<button type="submit">Force release</button></form>"""


def history_page(
    entries: Sequence[HistoryEntry],
    boards: Sequence[str],
    zone: tzinfo,
    *,
    board: str,
    holder: str,
    outcome: str,
    page: int,
    more: bool,
) -> tuple[str, str]:
    """All ended leases: (the filters, the live part)."""
    board_options = "".join(
        f'<option value="{h(name)}"{" selected" if name == board else ""}>{h(name)}</option>' for name in boards
    )
    outcome_options = "".join(
        f'<option value="{name}"{" selected" if name == outcome else ""}>{name}</option>' for name in OUTCOMES
    )
    filters = f"""<h1>History</h1>
<form class="filters" method="get" action="/history">
<label>Board <select name="board"><option value="">any board</option>{board_options}</select></label>
<label>Holder <input name="holder" value="{h(holder)}" placeholder="user or user@host" size="20"></label>
<label>Outcome <select name="outcome"><option value="">any outcome</option>{outcome_options}</select></label>
<button type="submit">Filter</button></form>"""
    query = {"board": board, "holder": holder, "outcome": outcome}
    return filters, history_rows(entries, zone, with_board=True) + pager("/history", query, page, more)


def login_page(next_path: str, problem: str | None = None) -> str:
    return f"""<h1>Sign in</h1>
<p>Actions (a forced release) need the token from the file given to <code>hil web --token-file</code>.</p>
{f'<p class="problem" role="alert">{h(problem)}</p>' if problem else ""}
<form class="login" method="post" action="/login"><input type="hidden" name="next" value="{h(next_path)}">
<label>Your name <input name="operator" required maxlength="64" autocomplete="username"></label>
<label>Token <input name="token" type="password" required autocomplete="current-password"></label>
<button type="submit">Sign in</button></form>"""


def message_page(title: str, text: str) -> str:
    return f'<h1>{h(title)}</h1><p class="problem">{h(text)}</p><p><a href="/">all boards</a></p>'


def page_body(head: str, live: str) -> str:
    return f'{head}<div id="live">{live}</div>'
