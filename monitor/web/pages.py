"""Server-rendered pages: overview, change list, change page with triage, search, feed,
login. Every page works without JavaScript; every form that changes anything carries
a CSRF token (:func:`~monitor.web.guard.require_csrf`)."""

from __future__ import annotations

import getpass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..report.atom import MEDIA_TYPE, FeedLinks, changes_atom, feed_selection
from ..report.json import change_to_json
from ..store.base import TRIAGE_MARKS, UNTRIAGED
from .app import WebState, page, web_state
from .guard import SESSION_COOKIE, require_csrf
from .views import (
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    Id,
    change_filter,
    change_page_view,
    filter_query,
    overview,
)

router = APIRouter(include_in_schema=False)
State = Annotated[WebState, Depends(web_state)]
AUTHOR_COOKIE = "monitor_author"
SEARCH_PAGE = 100  # watches shown per search (the most recent activity first)


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, state: State) -> HTMLResponse:
    watches = overview(state.store)
    recent, _ = state.store.change_page(change_filter(flagged=True), limit=5)
    return page(
        request,
        "overview.html",
        watches=watches,
        attention=[w for w in watches if w.needs_attention],
        recent=[change_to_json(r) for r in recent],
    )


@router.get("/changes", response_class=HTMLResponse)
def changes_page(
    request: Request,
    state: State,
    watch: str | None = None,
    vendor: str | None = None,
    tag: str | None = None,
    kind: Annotated[list[str] | None, Query()] = None,
    flagged: bool = False,
    since: str | None = None,
    until: str | None = None,
    triage: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
) -> HTMLResponse:
    selected: dict[str, Any] = {
        "watch": watch,
        "vendor": vendor,
        "tag": tag,
        "kind": kind or [],
        "flagged": flagged,
        "since": since,
        "until": until,
        "triage": triage,
    }
    rows, total = state.store.change_page(change_filter(**selected), limit, offset)
    return page(
        request,
        "changes.html",
        changes=[change_to_json(r) for r in rows],
        total=total,
        offset=offset,
        limit=limit,
        selected=selected,
        facets=state.store.facets(),
        watches=[w.name for w in overview(state.store)],
        marks=TRIAGE_MARKS,
        untriaged=UNTRIAGED,
        query=lambda **changes: filter_query({**selected, "limit": limit}, **changes),
        feed_query=filter_query(selected),
    )


@router.get("/changes/{change_id}", response_class=HTMLResponse)
def change_detail_page(request: Request, state: State, change_id: Id) -> HTMLResponse:
    view = change_page_view(state.store, change_id)
    author = request.cookies.get(AUTHOR_COOKIE) or _local_user()
    return page(request, "change.html", marks=TRIAGE_MARKS, author=author, **view)


@router.post("/changes/{change_id}/triage", dependencies=[Depends(require_csrf)])
def triage_form(
    request: Request,
    state: State,
    change_id: Id,
    mark: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
    author: Annotated[str, Form()] = "",
) -> Response:
    who = request.state.user if state.auth.enabled else (author.strip() or _local_user())
    state.store.add_triage(change_id, mark, note, who)
    response = RedirectResponse(f"/changes/{change_id}#triage", status_code=303)
    if not state.auth.enabled:
        # Remembered for the next mark (a name, not a credential).
        response.set_cookie(AUTHOR_COOKIE, who, httponly=True, samesite="strict")
    return response


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    state: State,
    q: str = "",
    watch: str | None = None,
) -> HTMLResponse:
    hits: list[Any] = []
    coverage, total = None, 0
    if state.index is not None and q.strip():
        from ..search.query import search_page

        with state.search_lock:
            index = state.current_index() or state.index
            hits, total = search_page(index, q, watch=watch or None, limit=SEARCH_PAGE)
            coverage = index.coverage()
    return page(
        request,
        "search.html",
        q=q,
        watch=watch or "",
        hits=hits,
        total=total,
        coverage=coverage,
        indexing=getattr(state.store, "writable", True),  # else nothing will index
        available=state.index is not None,
        watches=[w.name for w in overview(state.store)],
    )


@router.get("/feed.atom")
def feed(
    request: Request,
    state: State,
    watch: str | None = None,
    vendor: str | None = None,
    tag: str | None = None,
    kind: Annotated[list[str] | None, Query()] = None,
    flagged: bool = False,
    since: str | None = None,
    until: str | None = None,
    triage: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> Response:
    """The change list as Atom, newest first (the same filters as ``/changes``)."""
    selected: dict[str, Any] = {
        "watch": watch,
        "vendor": vendor,
        "tag": tag,
        "kind": kind or [],
        "flagged": flagged,
        "since": since,
        "until": until,
        "triage": triage,
    }
    selection = change_filter(**selected)
    rows, _ = state.store.change_page(selection, limit, 0)
    base = str(request.base_url).rstrip("/")
    query = filter_query(selected)
    canonical = feed_selection(selection)
    body = changes_atom(
        rows,
        title="monitor: changes" + (f" ({canonical})" if canonical else ""),
        selection=canonical,
        links=FeedLinks(
            self_url=f"{base}/feed.atom" + (f"?{query}" if query else ""),
            home=f"{base}/changes" + (f"?{query}" if query else ""),
            change=lambda change_id: f"{base}/changes/{change_id}",
        ),
        watches={w.name: {"vendor": w.vendor, "tags": w.tags} for w in overview(state.store)},
    )
    return Response(body, media_type=MEDIA_TYPE)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, state: State, next: str = "/") -> HTMLResponse:
    return page(request, "login.html", next=_local_path(next), failed=False)


@router.post("/login", dependencies=[Depends(require_csrf)], response_model=None)
def login(
    request: Request,
    state: State,
    password: Annotated[str, Form()],
    user: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    who = state.auth.login(user.strip(), password) if state.auth.enabled else None
    if who is None:
        response = page(request, "login.html", next=_local_path(next), failed=True)
        response.status_code = 401
        return response
    done = RedirectResponse(_local_path(next), status_code=303)
    done.set_cookie(
        SESSION_COOKIE,
        state.auth.session(who),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return done


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _local_path(target: str) -> str:
    """Only redirect within this site (never to another host after a login)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"
