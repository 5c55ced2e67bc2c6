"""Gathering from a store what the WARC/WACZ exports and the change bundle write."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from ..documents.document import Document
from ..model import iso
from ..report.html import change_html
from ..report.json import change_to_json, witness_to_json
from ..report.view import load_change
from ..store.base import EvidenceStore
from .bundle import BundleSource, build_bundle
from .service import key_ring, latest_checkpoint, make_checkpoint
from .wacz import write_wacz, write_warc_file
from .warc import ExportStats


def export_archive(
    store: EvidenceStore,
    kind: str,
    out: Path,
    watches: tuple[str, ...] = (),
    since: datetime | None = None,
    until: datetime | None = None,
) -> ExportStats:
    """``monitor export warc|wacz``: captures in capture order, streamed."""
    for watch in watches:
        store.require_watch(watch)
    rows = store.iter_captures(
        watches, iso(since) if since else None, iso(until) if until else None
    )
    ring = key_ring(store)
    if kind == "warc":
        return write_warc_file(out, rows, store.get_blob, ring)
    title = "monitor export" + (f": {', '.join(watches)}" if watches else "")
    return write_wacz(out, rows, store.get_blob, ring, latest_checkpoint(store), title)


def _witnesses(store: EvidenceStore, change_id: int) -> list[dict[str, Any]]:
    """The Save Page Now witnesses of a change (archives room), in their JSON form."""
    return [witness_to_json(row) for row in store.witnesses(change_id)]


def _document_text(blob: bytes) -> str:
    return Document.from_json(blob).text


def write_bundle(store: EvidenceStore, change_id: int, out: Path) -> dict[str, Any]:
    """``monitor bundle CHANGE_ID OUT.zip``: everything a third party needs for one change."""
    view = load_change(store, change_id)
    change = store.change(change_id)
    ring = key_ring(store)
    point = latest_checkpoint(store)
    if point is None or point.seq < (change["chain_seq"] or 0):
        point = make_checkpoint(store, ring)  # the newest checkpoint must cover the change
    assert point is not None  # the change itself is in the chain
    captures = {"after": view.new}
    if view.old is not None:
        captures["before"] = view.old
    source = BundleSource(
        change=change,
        change_json={**change_to_json(change), "detail": view.detail},
        report_html=change_html(view),
        captures=captures,
        blobs=store.get_blob,
        document_text=_document_text,
        entries=store.chain_entries,
        checkpoint=point,
        witnesses=_witnesses(store, change_id),
    )
    return build_bundle(source, point.public_key, out)
