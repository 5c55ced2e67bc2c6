"""What pages and the API show, prepared from the store (no HTML here, no HTTP)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Path, Query

from ..analysis.compare import compare
from ..archives.reading import Rules
from ..documents.current import current_document
from ..documents.document import Document
from ..errors import ConfigError, NotFoundError
from ..model import ATTENTION_EVENTS, WatchStatus, parse_time
from ..report.html import fragment_views, hunk_views, language
from ..report.json import capture_to_json, change_to_json, contract_time
from ..report.view import load_change
from ..store.base import TRIAGE_MARKS, UNTRIAGED, BrowsableStore, ChangeFilter, Row

Id = Annotated[int, Path(ge=0, le=2**62)]  # ids are SQLite's 64-bit integers
CaptureId = Annotated[int, Query(ge=0, le=2**62)]
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# Watch states that ask a person to look (the page went, blocks us, or lost its shape).
_ATTENTION = frozenset(str(kind) for kind in ATTENTION_EVENTS) | {str(WatchStatus.UNREACHABLE)}


def time_or_none(value: str | datetime | None, name: str) -> datetime | None:
    """A query parameter as a time (an ISO-8601 date or date-time), or a clear 400."""
    if not value:
        return None
    try:
        moment = value if isinstance(value, datetime) else parse_time(value)
        # In UTC, as the stores compare; a time that has none (year 1, +00:01) is refused.
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise ConfigError(f"{name}: {value!r} is not an ISO-8601 date or time") from error


def change_filter(
    watch: str | None = None,
    vendor: str | None = None,
    tag: str | None = None,
    kind: list[str] | None = None,
    flagged: bool = False,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    triage: str | None = None,
) -> ChangeFilter:
    """A :class:`ChangeFilter` from query parameters (empty values mean "any")."""
    if triage and triage not in (*TRIAGE_MARKS, UNTRIAGED):
        raise ConfigError(f"triage: {triage!r} is not one of {', '.join(TRIAGE_MARKS)}, untriaged")
    return ChangeFilter(
        watch=watch or None,
        vendor=vendor or None,
        tag=tag or None,
        kinds=tuple(k for k in (kind or []) if k),
        flagged=flagged,
        since=time_or_none(since, "since"),
        until=time_or_none(until, "until"),
        triage=triage or None,
    )


def filter_query(selected: dict[str, Any], **changes: Any) -> str:
    """The query string of a filter (for paging and feed links), empty values dropped."""
    merged = {**selected, **changes}
    pairs: list[tuple[str, str]] = []
    for key, value in merged.items():
        if isinstance(value, list):
            pairs += [(key, str(v)) for v in value if v]
        elif value not in (None, "", False, 0) or (key == "offset" and value):
            pairs.append((key, "1" if value is True else str(value)))
    return urlencode(pairs)


@dataclass(frozen=True)
class Health:
    """How a watch is doing, for the overview."""

    name: str
    url: str
    vendor: str | None
    tags: list[str]
    status: str
    needs_attention: bool
    captures: int
    last_check: str | None
    last_outcome: str | None
    last_change: str | None
    events: int
    flagged: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def health(row: Row) -> Health:
    status = str(row["state"].get("status") or WatchStatus.NEW)
    return Health(
        name=row["name"],
        url=row["url"],
        vendor=row["config"].get("vendor"),
        tags=list(row["config"].get("tags") or []),
        status=status,
        needs_attention=status in _ATTENTION,
        captures=row["captures"],
        last_check=contract_time(row["last_check"]) if row["last_check"] else None,
        last_outcome=row["last_outcome"],
        last_change=contract_time(row["last_change"]) if row["last_change"] else None,
        events=row["events"],
        flagged=row["flagged"],
    )


def overview(store: BrowsableStore) -> list[Health]:
    return [health(row) for row in store.watches_overview()]


def change_page_view(store: BrowsableStore, change_id: int) -> dict[str, Any]:
    """Everything the change page shows (the HTML report's views, plus triage)."""
    view = load_change(store, change_id)
    row = store.change(change_id)
    return {
        "event": view.event,
        "detail": view.detail,
        "watch": view.watch,
        "old": view.old,
        "new": view.new,
        "lang": language(view.detail),
        "fragments": fragment_views(view.detail, view.terms),
        "hunks": hunk_views(view.detail, view.terms),
        "moved": view.detail.get("moved", []),
        "triage": change_to_json(row)["triage"],
        "bundle_ready": bundle_ready(store, change_id),
    }


def bundle_ready(store: BrowsableStore, change_id: int) -> bool:
    """Whether a signed checkpoint already covers the change, so that its evidence
    bundle can be made without writing anything (``monitor bundle`` signs one if not)."""
    from ..evidence.service import latest_checkpoint

    point = latest_checkpoint(store)
    seq = store.change(change_id).get("chain_seq") or 0
    return point is not None and point.seq >= seq


def capture_text(store: BrowsableStore, capture_id: int) -> tuple[Row, Document]:
    """A capture and the text extracted from it (a clear error if it has none)."""
    capture = store.capture(capture_id)
    if not capture["text_sha256"]:
        raise NotFoundError(
            f"capture {capture_id} has no extracted text (its check found "
            f"{capture['outcome']}); pick a capture whose outcome is ok or unchanged"
        )
    return capture, Document.from_json(store.get_blob(capture["text_sha256"]))


def diff_view(store: BrowsableStore, watch: str, old_id: int, new_id: int) -> dict[str, Any]:
    """Compare the texts of any two captures of a watch, as a change page shows a change."""
    old, old_doc = capture_text(store, old_id)
    new, new_doc = capture_text(store, new_id)
    for capture in (old, new):
        if capture["watch"] != watch:
            raise NotFoundError(f"capture {capture['id']} belongs to {capture['watch']!r}")
    config = store.watch_config(watch)
    terms = list(config.get("terms") or [])
    rules = Rules.from_config(config)  # texts of an older extractor are read again
    old_doc = current_document(old_doc, old, store, rules)
    new_doc = current_document(new_doc, new, store, rules)
    detail = compare(old_doc, new_doc).to_detail()
    return {
        "old": old,
        "new": new,
        "detail": detail,
        "lang": language(detail),
        "fragments": fragment_views(detail, terms),
        "hunks": hunk_views(detail, terms),
        "moved": detail.get("moved", []),
    }


def timeline(store: BrowsableStore, watch: str) -> list[dict[str, Any]]:
    """A watch's captures, newest first, each with the events recorded at it."""
    events: dict[int, list[dict[str, Any]]] = {}
    for row in store.change_index(watch):
        events.setdefault(row["to_capture"], []).append(
            {"id": row["id"], "kind": row["kind"], "flagged": row["flags"] != "[]"}
        )
    return [
        {
            **capture,
            "at": contract_time(capture["fetched_at"]),
            "events": events.get(capture["id"], []),
        }
        for capture in reversed(store.captures(watch))
    ]


def capture_json(row: Row) -> dict[str, Any]:
    """A capture as ``monitor history --format json`` shows it, plus what the page was
    served with (encoding, headers, redirect chain)."""
    return {
        **capture_to_json(row),
        "encoding": row["encoding"],
        "headers": [list(h) for h in json.loads(row["headers"] or "[]")],
        "redirects": [list(r) for r in json.loads(row["redirects"] or "[]")],
    }
