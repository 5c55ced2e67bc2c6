"""The JSON contract of change events (docs/cli.md; DESIGN.md section 4): made here only.

Fields are added, never renamed or removed: researchers script against them.
"""

from __future__ import annotations

import json
from typing import Any

from ..model import EventKind, parse_time
from ..store.base import Row

# Every field of a change event in `changes --format json`, in output order.
CHANGE_FIELDS = (
    "id",
    "watch",
    "url",
    "detected_at",
    "kind",
    "removed",
    "added",
    "flags",
    "from_snapshot",
    "to_snapshot",
    "from_capture",
    "to_capture",
    "fragments",
    "moved",
    "edits",
    "triage",
    "source",
    "witnesses",
)
# Every field of a witness (in a change's `witnesses` and `monitor witness list`).
WITNESS_FIELDS = (
    "change_id",
    "archive",
    "url",
    "status",
    "reason",
    "job_id",
    "archived_url",
    "archive_timestamp",
    "requested_at",
    "submitted_at",
    "finished_at",
    "copy",
)
# Fields some kinds add (docs/cli.md): ``site`` on the events of a site's discovery
# (page_added, page_removed, and moved when a discovery run found the rename), and
# ``locale_gap`` on locale_gap events.
SITE_KINDS = frozenset((EventKind.PAGE_ADDED, EventKind.PAGE_REMOVED, EventKind.MOVED))
LOCALE_GAP_FIELDS = (
    "counterparts",
    "pair",
    "state",
    "group",
    "present_in",
    "absent_in",
    "locales",
    "terms",
)


def contract_time(stored: str) -> str:
    """Stored UTC time -> the contract's ISO-8601 form (seconds, Z).

    >>> contract_time("2020-12-17T08:00:00.123456Z")
    '2020-12-17T08:00:00Z'
    """
    return parse_time(stored).strftime("%Y-%m-%dT%H:%M:%SZ")


def change_to_json(row: Row) -> dict[str, Any]:
    """A change event in the form outside tools rely on (DESIGN.md section 4)."""
    detail = json.loads(row["detail"])
    event = {
        "id": row["id"],
        "watch": row["watch"],
        "url": row["url"],
        "detected_at": contract_time(row["detected_at"]),
        "kind": row["kind"],
        "removed": json.loads(row["removed"]),
        "added": json.loads(row["added"]),
        "flags": json.loads(row["flags"]),
        "from_snapshot": row["from_snapshot"],
        "to_snapshot": row["to_snapshot"],
        "from_capture": row["from_capture"],
        "to_capture": row["to_capture"],
        **_located(detail),
        "triage": triage_to_json(row.get("triage")),
        "source": row.get("source") or "live",
        "witnesses": [witness_to_json(w) for w in json.loads(row.get("witnesses") or "[]")],
    }
    kind = row["kind"]
    if kind in SITE_KINDS and "site" in detail:
        event["site"] = detail["site"]
    if kind == EventKind.LOCALE_GAP:
        event["locale_gap"] = {key: detail.get(key) for key in LOCALE_GAP_FIELDS}
    return event


def triage_to_json(raw: str | None) -> dict[str, Any]:
    """A change's triage marks (oldest first) and its state (the latest mark, or None).

    >>> triage_to_json('[{"mark": "important", "note": "n", "author": "a",'
    ...                ' "at": "2020-12-17T08:00:00.000000Z"}]')["state"]
    'important'
    >>> triage_to_json(None)
    {'state': None, 'marks': []}
    """
    marks = [
        {
            "mark": m["mark"],
            "note": m["note"],
            "author": m["author"],
            "at": contract_time(m["at"]),
        }
        for m in (json.loads(raw) if raw else [])
    ]
    return {"state": marks[-1]["mark"] if marks else None, "marks": marks}
def _time_or_none(stored: str | None) -> str | None:
    return contract_time(stored) if stored else None


def witness_to_json(row: Row) -> dict[str, Any]:
    """A witness: which archive was asked, what it answered, and whether its copy matches.

    ``copy`` is null until the archived copy was fetched back, then
    ``{"sha256", "sha256_matches", "text_matches", "note", "status", "replay_url",
    "checked_at"}``.
    """
    copy = row["copy"]
    if isinstance(copy, str):
        copy = json.loads(copy)
    if isinstance(copy, dict) and copy.get("checked_at"):
        copy = {**copy, "checked_at": contract_time(copy["checked_at"])}
    timestamp = row["archive_timestamp"]
    return {
        "change_id": row["change_id"],
        "archive": row["archive"],
        "url": row["url"],
        "status": row["status"],
        "reason": row["reason"],
        "job_id": row["job_id"],
        "archived_url": row["archived_url"],
        "archive_timestamp": (
            f"{timestamp[:4]}-{timestamp[4:6]}-{timestamp[6:8]}T{timestamp[8:10]}:"
            f"{timestamp[10:12]}:{timestamp[12:14]}Z"
            if timestamp
            else None
        ),
        "requested_at": _time_or_none(row["requested_at"]),
        "submitted_at": _time_or_none(row["submitted_at"]),
        "finished_at": _time_or_none(row["finished_at"]),
        "copy": copy,
    }


def _located(detail: dict[str, Any]) -> dict[str, Any]:
    """Where each removed/added fragment sat (with its PDF page, if any), the blocks that
    moved unchanged, and the changes in words where the structure names them.

    >>> _located({"removed": [{"text": "维族", "path": ["A"], "kind": "row", "block": "x"}]})
    {'fragments': [{'change': 'removed', 'text': '维族', 'path': ['A'], 'kind': 'row'}], \
'moved': [], 'edits': []}
    """
    fragments = [
        {
            "change": change,
            "text": f["text"],
            "path": f["path"],
            "kind": f["kind"],
            **({"page": f["page"]} if "page" in f else {}),
        }
        for change in ("removed", "added")
        for f in detail.get(change, [])
    ]
    moved = [
        {"text": m["text"], "from_path": m["from_path"], "to_path": m["to_path"]}
        for m in detail.get("moved", [])
    ]
    return {"fragments": fragments, "moved": moved, "edits": list(detail.get("edits") or [])}


def capture_to_json(row: Row) -> dict[str, Any]:
    """One capture in ``monitor history --format json`` (docs/cli.md)."""
    return {
        "id": row["id"],
        "watch": row["watch"],
        "url": row["url"],
        "fetched_at": contract_time(row["fetched_at"]),
        "status": row["status"],
        "outcome": row["outcome"],
        "final_url": row["final_url"],
        "body_sha256": row["body_sha256"],
        "body_size": row["body_size"],
        "text_sha256": row["text_sha256"],
        "elapsed_ms": row["elapsed_ms"],
        "attempts": row["attempts"],
        "error_class": row["error_class"],
        "error": row["error"],
        "fetched_with": row.get("fetched_with") or "http",
        "source_capture": row.get("source_capture"),
        "screenshot_sha256": row.get("screenshot_sha256"),
        "source": row.get("source") or "live",
        "archived_at": _time_or_none(row.get("archived_at")),
        "archive_url": row.get("archive_url"),
        "archive_digest": row.get("archive_digest"),
    }
