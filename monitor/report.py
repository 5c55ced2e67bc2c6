"""Reports: change events as JSON (the stable contract), terminal text and HTML.

Everything that comes from a monitored page is untrusted. The HTML report is rendered
by Jinja2 with autoescaping on, inline CSS only, no scripts and a Content-Security-Policy
that forbids them, so a page containing ``<script>``, ``onerror=``, ``javascript:``
links or ``</style>`` tricks shows as text and runs nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from .flag import find_terms
from .store import EvidenceStore, Row, parse_time

DELETE, EQUAL, INSERT = -1, 0, 1
_HAN_OR_KANA = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_KANA = re.compile("[\u3040-\u30ff]")


def contract_time(stored: str) -> str:
    """Stored UTC time -> the contract's ISO-8601 form (seconds, Z).

    >>> contract_time("2020-12-17T08:00:00.123456Z")
    '2020-12-17T08:00:00Z'
    """
    return parse_time(stored).strftime("%Y-%m-%dT%H:%M:%SZ")


def change_to_json(row: Row) -> dict[str, Any]:
    """A change event in the form outside tools rely on (DESIGN.md section 4)."""
    return {
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
    }


def changes_text(rows: Sequence[Row]) -> str:
    """One line per change event for the terminal."""
    if not rows:
        return "no change events"
    lines = []
    for row in rows:
        event = change_to_json(row)
        summary = _summary(event)
        lines.append(
            f"#{event['id']:<5} {event['detected_at']}  {event['kind']:<16} "
            f"{event['watch']}  {summary}"
        )
    return "\n".join(lines)


def _summary(event: dict[str, Any]) -> str:
    parts = []
    if event["removed"]:
        parts.append(f"-{len(event['removed'])}")
    if event["added"]:
        parts.append(f"+{len(event['added'])}")
    for flag in event["flags"]:
        arrow = "removed" if flag["direction"] == "removed" else "added"
        parts.append(f"FLAG {flag['term']} {arrow} ({flag['before']}->{flag['after']})")
    return " ".join(parts)


@dataclass(frozen=True)
class ChangeView:
    """Everything a report about one change shows."""

    event: dict[str, Any]
    detail: dict[str, Any]
    watch: dict[str, Any]
    old: Row | None
    new: Row
    old_blob: str | None  # link to the raw snapshot
    new_blob: str | None

    @property
    def terms(self) -> list[str]:
        return list(self.watch.get("terms") or [])


def load_change(store: EvidenceStore, change_id: int) -> ChangeView:
    row = store.change(change_id)
    old = store.capture(row["from_capture"]) if row["from_capture"] else None
    new = store.capture(row["to_capture"])
    return ChangeView(
        event=change_to_json(row),
        detail=json.loads(row["detail"]),
        watch=store.watch_config(row["watch"]),
        old=old,
        new=new,
        old_blob=_blob_link(store, old),
        new_blob=_blob_link(store, new),
    )


def _blob_link(store: EvidenceStore, capture: Row | None) -> str | None:
    if capture is None or not capture["body_sha256"]:
        return None
    return store.blob_location(capture["body_sha256"])


def location(fragment: dict[str, Any]) -> str:
    """Where a fragment sat, e.g. ``row in table under 人脸属性 > 返回参数``.

    >>> location({"path": ["人脸属性", "返回参数"], "kind": "row"})
    'table row under 人脸属性 > 返回参数'
    """
    path = " > ".join(fragment.get("path") or []) or "(top of page)"
    kind = {
        "row": "table row",
        "item": "list item",
        "code": "code block",
        "heading": "heading",
    }.get(fragment.get("kind", ""), "text")
    return f"{kind} under {path}"


def change_text(view: ChangeView) -> str:
    """Terminal view of one change."""
    event = view.event
    lines = [
        f"change #{event['id']}  {event['kind']}  {event['watch']}",
        f"url:      {event['url']}",
        f"detected: {event['detected_at']}",
        f"from:     capture {event['from_capture']}  sha256 {event['from_snapshot']}",
        f"to:       capture {event['to_capture']}  sha256 {event['to_snapshot']}",
    ]
    for flag in event["flags"]:
        lines.append(
            f"FLAG:     {flag['term']!r} {flag['direction']} ({flag['before']} -> {flag['after']})"
        )
    for label, sign in (("removed", "-"), ("added", "+")):
        for fragment in view.detail.get(label, []):
            lines.append("")
            lines.append(f"{sign} {fragment['text']}")
            lines.append(
                f"    {label} from {location(fragment)}"
                if sign == "-"
                else f"    added in {location(fragment)}"
            )
            lines.append(
                f"    in context: …{fragment['before']}[{sign}{fragment['text']}]"
                f"{fragment['after']}…"
            )
    for move in view.detail.get("moved", []):
        where = " > ".join(move["from_path"]) or "(top)"
        to = " > ".join(move["to_path"]) or "(top)"
        lines.append(f"\n~ moved unchanged: {move['text'][:80]}  ({where} -> {to})")
    for key in (
        "from_url",
        "to_url",
        "failures",
        "after",
        "confirmations",
        "title",
        "chars",
        "reference_chars",
    ):
        if key in view.detail:
            lines.append(f"{key}: {view.detail[key]}")
    for key in ("remaining_text", "page_text"):
        if view.detail.get(key):
            lines.append(f"\nwhat the page shows now ({key.replace('_', ' ')}):")
            lines.append(view.detail[key])
    if view.detail.get("fallback"):
        lines.append("\nnote: the diff hit its time limit; some regions are reported whole.")
    return "\n".join(lines)


def _language(view: ChangeView) -> str:
    sample = json.dumps(view.detail, ensure_ascii=False)[:20000]
    if _KANA.search(sample):
        return "ja"
    return "zh" if _HAN_OR_KANA.search(sample) else "en"


def _marked(text: str, terms: Sequence[str]) -> list[dict[str, Any]]:
    """Split text into pieces, marking watched terms (rendered escaped by Jinja)."""
    pieces, position = [], 0
    for start, end in find_terms(text, terms) if terms else []:
        if start > position:
            pieces.append({"text": text[position:start], "mark": False})
        pieces.append({"text": text[start:end], "mark": True})
        position = end
    if position < len(text):
        pieces.append({"text": text[position:], "mark": False})
    return pieces


def _hunk_views(view: ChangeView) -> list[dict[str, Any]]:
    hunks = []
    for hunk in view.detail.get("hunks", []):
        segments = [
            {"op": op, "pieces": _marked(text, view.terms)} for op, text in hunk["segments"]
        ]
        hunks.append(
            {
                "path": " > ".join(hunk["path"]) or "(top of page)",
                "segments": segments,
                "old": [s for s in segments if s["op"] != INSERT],
                "new": [s for s in segments if s["op"] != DELETE],
            }
        )
    return hunks


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("monitor", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def change_html(view: ChangeView) -> str:
    """Self-contained HTML report of one change (inline CSS, no scripts)."""
    template = _environment().get_template("change.html")
    fragments = {
        label: [
            {**f, "where": location(f), "pieces": _marked(f["text"], view.terms)}
            for f in view.detail.get(label, [])
        ]
        for label in ("removed", "added")
    }
    return template.render(
        event=view.event,
        watch=view.watch,
        lang=_language(view),
        old=view.old,
        new=view.new,
        old_blob=view.old_blob,
        new_blob=view.new_blob,
        fragments=fragments,
        moved=view.detail.get("moved", []),
        hunks=_hunk_views(view),
        detail=view.detail,
        DELETE=DELETE,
        INSERT=INSERT,
    )
