"""The JSON API (documented by ``/openapi.json``): the same fields as the command line.

Read-only but for triage marks. A POST needs ``X-CSRF-Token`` (the token a page of the
dashboard carries) or, when the server authenticates, an ``Authorization`` header.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from ..report.json import change_to_json
from .app import WebState, web_state
from .guard import require_csrf
from .models import (
    Capture,
    CaptureText,
    ChangePage,
    ChangeWithDetail,
    SearchHit,
    Triage,
    TriageIn,
    WatchHealth,
)
from .views import (
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    Id,
    capture_json,
    capture_text,
    change_filter,
    overview,
)

router = APIRouter(prefix="/api", tags=["api"])
State = Annotated[WebState, Depends(web_state)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such item"}}
_BAD: dict[int | str, dict[str, Any]] = {400: {"description": "invalid filter value"}}


@router.get("/changes", response_model=ChangePage, responses=_BAD)
def list_changes(
    state: State,
    watch: str | None = None,
    vendor: str | None = None,
    tag: str | None = None,
    kind: Annotated[list[str] | None, Query()] = None,
    flagged: bool = False,
    since: Annotated[datetime | None, Query(description="ISO-8601 time, inclusive")] = None,
    until: Annotated[datetime | None, Query(description="ISO-8601 time, exclusive")] = None,
    triage: Annotated[
        Literal["reviewed", "important", "noise", "untriaged"] | None,
        Query(description="the latest mark, or untriaged"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> dict[str, Any]:
    """Change events matching the filters, newest first, one page at a time."""
    selected = change_filter(watch, vendor, tag, kind, flagged, since, until, triage)
    rows, total = state.store.change_page(selected, limit, offset)
    return {
        "total": total,
        "offset": offset,
        "limit": limit,
        "changes": [change_to_json(r) for r in rows],
    }


@router.get("/changes/{change_id}", response_model=ChangeWithDetail, responses=_NOT_FOUND)
def get_change(state: State, change_id: Id) -> dict[str, Any]:
    """One change event with its detail (fragments in context, moves, hunks)."""
    row = state.store.change(change_id)
    return {**change_to_json(row), "detail": json.loads(row["detail"])}


@router.post(
    "/changes/{change_id}/triage",
    response_model=Triage,
    responses={**_NOT_FOUND, 403: {"description": "missing CSRF token or credentials"}},
    dependencies=[Depends(require_csrf)],
)
def add_triage(request: Request, state: State, change_id: Id, body: TriageIn) -> dict[str, Any]:
    """Append a triage mark; returns the change's triage after it."""
    author = request.state.user if state.auth.enabled else body.author.strip() or "api"
    state.store.add_triage(change_id, body.mark, body.note, author)
    triage: dict[str, Any] = change_to_json(state.store.change(change_id))["triage"]
    return triage


@router.get("/watches", response_model=list[WatchHealth])
def list_watches(state: State) -> list[dict[str, Any]]:
    """Every watch with its health."""
    return [w.to_dict() for w in overview(state.store)]


@router.get("/watches/{name}", response_model=WatchHealth, responses=_NOT_FOUND)
def get_watch(state: State, name: str) -> dict[str, Any]:
    state.store.require_watch(name)
    return next(w.to_dict() for w in overview(state.store) if w.name == name)


@router.get("/watches/{name}/captures", response_model=list[Capture], responses=_NOT_FOUND)
def list_captures(
    state: State,
    name: str,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> list[dict[str, Any]]:
    """A watch's captures, newest first."""
    rows = list(reversed(state.store.captures(name)))
    return [capture_json(r) for r in rows[offset : offset + limit]]


@router.get("/captures/{capture_id}", response_model=Capture, responses=_NOT_FOUND)
def get_capture(state: State, capture_id: Id) -> dict[str, Any]:
    return capture_json(state.store.capture(capture_id))


@router.get("/captures/{capture_id}/text", response_model=CaptureText, responses=_NOT_FOUND)
def get_capture_text(state: State, capture_id: Id) -> dict[str, Any]:
    """The text extracted from a capture, block by block."""
    _, document = capture_text(state.store, capture_id)
    return {
        "capture": capture_id,
        "title": document.title,
        "blocks": [{"kind": b.kind, "text": b.text, "path": list(b.path)} for b in document.blocks],
    }


@router.get("/search", response_model=list[SearchHit])
def search_api(
    state: State,
    q: Annotated[str, Query(min_length=1, description="the wording to look for")],
    watch: str | None = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> list[dict[str, Any]]:
    """Per watch: first and last seen, present now, where it appeared or vanished.

    A query that is blank once folded (spaces, separators) finds nothing.
    """
    if state.index is None:
        from ..search import SEARCH_UNAVAILABLE

        raise HTTPException(status_code=501, detail=SEARCH_UNAVAILABLE)
    from ..search import search
    from ..search.blocks import is_blank

    if is_blank(q):
        return []
    with state.search_lock:
        index = state.current_index() or state.index
        return [h.to_dict() for h in search(index, q, watch=watch or None, limit=limit)]
