"""The dashboard as an ASGI application (Starlette): pages, their JSON twins, the event stream, and the
one action. Store reads run in worker threads (the store is synchronous, one connection per thread)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timezone, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pytest_hil.errors import HilError, SelectorError
from pytest_hil.lab import Lab, parse_selector
from pytest_hil.lab_status import STATES, BoardStatus, board_statuses, entry_json
from pytest_hil.leases import LeaseStore
from pytest_hil.leases.holder import Holder
from pytest_hil.secrets import mask
from pytest_hil.text import printable
from pytest_hil.web import pages, usage
from pytest_hil.web.access import COOKIE, OPERATOR_NAME, Access
from pytest_hil.web.live import Revisions

#: Ended leases per page of history.
PER_PAGE = 50
#: The most a posted form may hold (its fields are a reason, a name, a token).
FORM_LIMIT = 16 * 1024
#: Seconds between keep-alive comments on an idle event stream (a dead connection is noticed).
KEEP_ALIVE = 15.0
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        b" frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class _BadRequest(Exception):
    """A query value the page cannot use: answered with 400 and the reason."""


class _NoBoard(Exception):
    """A board the lab does not have: answered with 404."""


@dataclass(frozen=True)
class _Filters:
    selector: str
    state: str

    def keep(self, lab: Lab, statuses: list[BoardStatus]) -> list[BoardStatus]:
        selector = parse_selector(self.selector, lab.selectors)
        return [
            status
            for status in statuses
            if selector.matches(lab.boards[status.name].labels) and (not self.state or status.state == self.state)
        ]


class Dashboard:
    """The handlers, over one lab and its store."""

    def __init__(self, lab: Lab, store: LeaseStore, access: Access) -> None:
        self.lab = lab
        self.store = store
        self.access = access
        self.revisions = Revisions(store)
        self.title = lab.name or lab.path.name

    # plumbing

    def _page(self, request: Request, title: str, head: str, live: str) -> Response:
        if request.headers.get("x-hil-fragment") == "1":
            return _html(live)
        operator = self.access.operator(request.cookies.get(COOKIE))
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        body = pages.layout(
            title, self.title, pages.page_body(head, live), operator=operator, actions=self.access.enabled, here=here
        )
        return _html(body)

    def _message(self, request: Request, status: int, title: str, text: str) -> Response:
        if request.url.path.startswith("/api/"):
            return _json({"error": text}, status)
        operator = self.access.operator(request.cookies.get(COOKIE))
        body = pages.layout(
            title, self.title, pages.message_page(title, text), operator=operator, actions=self.access.enabled, here="/"
        )
        return _html(body, status)

    # the board list

    def _filters(self, request: Request) -> _Filters:
        state = request.query_params.get("state", "")
        if state and state not in STATES:
            raise _BadRequest(f"state {state!r}: one of {', '.join(STATES)}")
        return _Filters(request.query_params.get("select", ""), state)

    def boards(self, request: Request) -> Response:
        filters = self._filters(request)
        statuses = board_statuses(self.lab, self.store)
        problem = None
        try:
            shown = filters.keep(self.lab, statuses)
        except SelectorError as error:
            shown, problem = statuses, str(error)
        head, live = pages.board_list(
            statuses, shown, _zone(request), selector=filters.selector, state=filters.state, problem=problem
        )
        return self._page(request, "Boards", head, live)

    def api_boards(self, request: Request) -> Response:
        filters = self._filters(request)
        try:
            shown = filters.keep(self.lab, board_statuses(self.lab, self.store))
        except SelectorError as error:
            raise _BadRequest(str(error)) from None
        return _json({status.name: status.to_json() for status in shown})

    # a board

    def _board(self, request: Request) -> dict[str, Any]:
        name = request.path_params["name"]
        if name not in self.lab.boards:
            raise _NoBoard(name)
        page = _page_number(request)
        zone = _zone(request)
        now = time.time()
        (status,) = board_statuses(self.lab, self.store, only=[name])
        entries = self.store.history(limit=PER_PAGE + 1, board=name, offset=(page - 1) * PER_PAGE)
        spans = self.store.leased_spans(name, now - 32 * 86400)  # 30 days wherever the viewer's midnight is
        return {
            "status": status,
            "entries": entries[:PER_PAGE],
            "more": len(entries) > PER_PAGE,
            "page": page,
            "hours": usage.hours(spans, now, zone),
            "days": usage.days(spans, now, zone),
            "failures": self.store.failure_count(name),
        }

    def board(self, request: Request) -> Response:
        found = self._board(request)
        status: BoardStatus = found["status"]
        spec = self.lab.boards[status.name]
        options = {name: resource.shown_options() for name, resource in spec.resources.items()}
        head, live = pages.board_page(
            status,
            options,
            found["entries"],
            _zone(request),
            page=found["page"],
            more=found["more"],
            hours=found["hours"],
            days=found["days"],
            failures=found["failures"],
            action=self._action(request, status),
        )
        return self._page(request, status.name, head, live)

    def _action(self, request: Request, status: BoardStatus) -> str:
        """The force-release form, for a signed-in operator on a held board."""
        cookie = request.cookies.get(COOKIE)
        if not self.access.enabled or status.lease is None:
            return ""
        if cookie is None or self.access.operator(cookie) is None:
            return (
                f'<p><a href="{pages.link("/login", {"next": request.url.path})}">Sign in</a> to force-release it.</p>'
            )
        return pages.release_form(status.name, self.access.csrf_for(cookie))

    def api_board(self, request: Request) -> Response:
        found = self._board(request)
        status: BoardStatus = found["status"]
        return _json(
            {
                "board": status.name,
                **status.to_json(),
                "failures": found["failures"],
                "history": [entry_json(entry) for entry in found["entries"]],
                "page": found["page"],
                "more": found["more"],
                "utilization": {
                    period: [{"start": bucket.start, "share": round(bucket.share, 4)} for bucket in found[period]]
                    for period in ("hours", "days")
                },
            }
        )

    # the history

    def _history(self, request: Request) -> dict[str, Any]:
        board = request.query_params.get("board", "")
        holder = request.query_params.get("holder", "").strip()
        outcome = request.query_params.get("outcome", "")
        if board and board not in self.lab.boards:
            raise _BadRequest(f"board {board!r}: not in lab {self.title}")
        if outcome and outcome not in pages.OUTCOMES:
            raise _BadRequest(f"outcome {outcome!r}: one of {', '.join(pages.OUTCOMES)}")
        page = _page_number(request)
        entries = self.store.history(
            limit=PER_PAGE + 1, board=board or None, holder=holder or None, outcome=outcome or None,
            offset=(page - 1) * PER_PAGE,
        )  # fmt: skip
        return {"board": board, "holder": holder, "outcome": outcome, "page": page, "entries": entries}

    def history(self, request: Request) -> Response:
        found = self._history(request)
        entries = found.pop("entries")
        head, live = pages.history_page(
            entries[:PER_PAGE], list(self.lab.boards), _zone(request), more=len(entries) > PER_PAGE, **found
        )
        return self._page(request, "History", head, live)

    def api_history(self, request: Request) -> Response:
        found = self._history(request)
        entries = found["entries"]
        return _json(
            {
                "entries": [entry_json(entry) for entry in entries[:PER_PAGE]],
                "page": found["page"],
                "more": len(entries) > PER_PAGE,
            }
        )

    # live

    async def events(self, request: Request) -> Response:
        """Server-sent events: a message each time the lab changes (pages then fetch their live part)."""

        async def stream() -> AsyncIterator[str]:
            revision = self.revisions.revision
            yield "retry: 1000\n\n"  # a dropped stream is opened again after a second
            while True:
                latest = await self.revisions.next(revision, KEEP_ALIVE)
                if self.revisions.closing:
                    return
                if latest != revision:
                    revision = latest
                    yield f"data: {revision}\n\n"
                else:
                    yield ": still here\n\n"

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )

    # the action

    async def login(self, request: Request) -> Response:
        if not self.access.enabled:
            return self._message(request, 404, "Read-only", "this dashboard was started without --token-file")
        if request.method == "GET":
            next_path = _local_path(request.query_params.get("next", "/"))
            return self._page(request, "Sign in", pages.login_page(next_path), "")
        if _cross_site(request):
            return self._message(request, 403, "Refused", "a sign-in from another site")
        form = await _form(request)
        operator, token = str(form.get("operator", "")).strip(), str(form.get("token", ""))
        next_path = _local_path(str(form.get("next", "/")))
        if not OPERATOR_NAME.fullmatch(operator):
            problem = "your name: letters, digits and . _ @ - (up to 64)"
            return self._page(request, "Sign in", pages.login_page(next_path, problem), "")
        if not self.access.token_matches(token):
            await asyncio.sleep(1.0)  # guessing is slow
            response = self._page(request, "Sign in", pages.login_page(next_path, "wrong token"), "")
            response.status_code = 403
            return response
        response = RedirectResponse(next_path, status_code=303)
        response.set_cookie(
            COOKIE,
            self.access.cookie_for(operator),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    def logout(self, request: Request) -> Response:
        response = RedirectResponse(_local_path(request.query_params.get("next", "/")), status_code=303)
        response.delete_cookie(COOKIE)
        return response

    async def release(self, request: Request) -> Response:
        name = request.path_params["name"]
        if not self.access.enabled:
            return self._message(request, 403, "Read-only", "this dashboard was started without --token-file")
        if _cross_site(request):
            return self._message(request, 403, "Refused", "a request from another site")
        cookie = request.cookies.get(COOKIE, "")
        operator = self.access.operator(cookie)
        if operator is None:
            return self._message(request, 403, "Sign in first", "sign in with the operator token to force a release")
        form = await _form(request)
        if not self.access.csrf_matches(cookie, str(form.get("csrf", ""))):
            return self._message(request, 403, "Refused", "the form is stale or from another site: reload the page")
        reason = printable(str(form.get("reason", "")).strip())[:200]
        if not reason:
            return self._message(request, 400, "A reason, please", "say why the board must be freed")
        if name not in self.lab.boards:
            raise _NoBoard(name)
        client = request.client.host if request.client else "unknown"
        holder = Holder(operator, client, os.getpid(), "hil web")
        await run_in_threadpool(self.store.force_release, name, reason, holder)
        return RedirectResponse(f"/boards/{name}", status_code=303)


def create_app(lab: Lab, store: LeaseStore, access: Access, allowed_hosts: list[str] | None = None) -> Starlette:
    """The dashboard for `lab` over `store`; `allowed_hosts` limits the Host header (a dashboard on
    loopback answers only to loopback names, so a site that rebinds its name to 127.0.0.1 reads nothing)."""
    dashboard = Dashboard(lab, store, access)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        dashboard.revisions.start()
        try:
            yield
        finally:
            await run_in_threadpool(dashboard.revisions.stop)

    def sync(handler: Callable[[Request], Response]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await _answer(dashboard, request, lambda: run_in_threadpool(handler, request))

        return endpoint

    def asynchronous(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await _answer(dashboard, request, lambda: handler(request))

        return endpoint

    routes = [
        Route("/", sync(dashboard.boards)),
        Route("/boards/{name}", sync(dashboard.board)),
        Route("/boards/{name}/release", asynchronous(dashboard.release), methods=["POST"]),
        Route("/history", sync(dashboard.history)),
        Route("/login", asynchronous(dashboard.login), methods=["GET", "POST"]),
        Route("/logout", sync(dashboard.logout)),
        Route("/events", dashboard.events),
        Route("/api/boards", sync(dashboard.api_boards)),
        Route("/api/boards/{name}", sync(dashboard.api_board)),
        Route("/api/history", sync(dashboard.api_history)),
        Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
    ]
    middleware = [Middleware(_SecurityHeaders)]
    if allowed_hosts:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.revisions = dashboard.revisions  # the server ends the event streams when it stops
    return app


async def _answer(dashboard: Dashboard, request: Request, handle: Callable[[], Awaitable[Response]]) -> Response:
    """A handler's response, or the page saying what went wrong (never a traceback)."""
    try:
        return await handle()
    except _BadRequest as error:
        return dashboard._message(request, 400, "Bad request", str(error))
    except _NoBoard as error:
        return dashboard._message(request, 404, "No such board", f"no board {error.args[0]!r} in lab {dashboard.title}")
    except HilError as error:
        return dashboard._message(request, 503, "Lease store unavailable", str(error))


class _SecurityHeaders:
    """Adds the security headers to every response (pages, JSON, static files, the event stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, sending)


def _html(text: str, status: int = 200) -> Response:
    return HTMLResponse(mask(text), status_code=status, headers={"Cache-Control": "no-store"})


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        mask(json.dumps(data, indent=1)),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def _form(request: Request) -> dict[str, str]:
    """A posted form (URL-encoded, as the pages send it; at most FORM_LIMIT bytes, else empty)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            return {}
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _zone(request: Request) -> tzinfo:
    """The viewer's time zone, as the page's script told it in a cookie (UTC until it has)."""
    name = unquote(request.cookies.get("hil_tz", ""))  # the script writes it URL-encoded (Asia%2FTokyo)
    try:
        return ZoneInfo(name) if name else timezone.utc
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return timezone.utc


def _page_number(request: Request) -> int:
    text = request.query_params.get("page", "1")
    if not text.isdigit() or int(text) < 1 or len(text) > 9:
        raise _BadRequest(f"page {text!r}: a whole number from 1")
    return int(text)


def _local_path(path: str) -> str:
    """Where to go after signing in: a path on this site only."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


def _cross_site(request: Request) -> bool:
    """Whether a state-changing request comes from another site (by Sec-Fetch-Site or Origin)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    return origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}"
