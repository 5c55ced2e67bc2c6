"""A watch's pages: its timeline, its text at any capture, a diff between any two
captures, and raw capture downloads (the exact bytes fetched, as evidence)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from .app import WebState, page, web_state
from .views import CaptureId, Id, bundle_ready, capture_text, diff_view, overview, timeline

router = APIRouter(include_in_schema=False)
State = Annotated[WebState, Depends(web_state)]
TIMELINE_PAGE = 100


@router.get("/watches/{name}", response_class=HTMLResponse)
def watch_page(
    request: Request,
    state: State,
    name: str,
    at: CaptureId | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    state.store.require_watch(name)
    health = next(w for w in overview(state.store) if w.name == name)
    captures = timeline(state.store, name)
    with_text = [c for c in captures if c["text_sha256"]]
    shown = None
    if with_text:
        chosen = at if at is not None else with_text[0]["id"]
        capture, document = capture_text(state.store, chosen)
        if capture["watch"] != name:
            capture, document = capture_text(state.store, with_text[0]["id"])
        shown = {"capture": capture, "document": document}
    return page(
        request,
        "watch.html",
        health=health,
        config=state.store.watch_config(name),
        captures=captures[offset : offset + TIMELINE_PAGE],
        total=len(captures),
        offset=offset,
        page_size=TIMELINE_PAGE,
        with_text=with_text,
        shown=shown,
    )


@router.get("/watches/{name}/diff", response_class=HTMLResponse)
def watch_diff(request: Request, state: State, name: str, old: int, new: int) -> HTMLResponse:
    """What changed between any two captures of a watch (older first, whatever the order)."""
    state.store.require_watch(name)
    if old > new:
        old, new = new, old
    return page(request, "diff.html", watch=name, **diff_view(state.store, name, old, new))


@router.get("/captures/{capture_id}/raw")
def raw_capture(state: State, capture_id: Id) -> Response:
    """The capture's raw body, byte for byte: ``sha256sum`` of the file equals the hash
    the pages show. Sent as a download and sandboxed, so a hostile page never runs."""
    capture = state.store.capture(capture_id)
    digest = capture["body_sha256"]
    if not digest:
        return Response(
            f"capture {capture_id} has no body (the check found {capture['outcome']})",
            status_code=404,
            media_type="text/plain",
        )
    body = state.store.get_blob(digest)
    return Response(
        body,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="capture-{capture_id}-{digest}.bin"',
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/changes/{change_id}/bundle.zip")
def evidence_bundle(state: State, change_id: Id) -> Response:
    """The change's evidence bundle (as ``monitor bundle``), when a checkpoint already
    covers it: the dashboard signs nothing and writes nothing for it."""
    if not bundle_ready(state.store, change_id):
        return Response(
            f"no signed checkpoint covers change {change_id} yet: run "
            f"'monitor bundle {change_id} change-{change_id}.zip' (it signs one)",
            status_code=404,
            media_type="text/plain",
        )
    from ..evidence.exporting import write_bundle

    with tempfile.TemporaryDirectory(prefix="monitor-bundle-") as folder:
        out = Path(folder) / f"change-{change_id}.zip"
        write_bundle(state.store, change_id, out)
        body = out.read_bytes()
    return Response(
        body,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="change-{change_id}.zip"'},
    )
