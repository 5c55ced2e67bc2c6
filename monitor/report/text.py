"""Terminal views of change events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..safe import one_line
from ..store.base import Row
from .json import change_to_json
from .view import ChangeView


def changes_text(rows: Sequence[Row]) -> str:
    """One line per change event for the terminal."""
    if not rows:
        return "no change events"
    lines = []
    for row in rows:
        event = change_to_json(row)
        summary = one_line(_summary(event))
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
        group = f" [{flag['group']}]" if flag.get("group") else ""
        parts.append(f"FLAG {flag['term']}{group} {arrow} ({flag['before']}->{flag['after']})")
    gap = event.get("locale_gap")
    if gap:
        parts.append(
            f"{gap['group']} {gap['state']}: in {', '.join(gap['present_in'])}, "
            f"not in {', '.join(gap['absent_in'])}"
        )
    if event.get("site"):
        parts.append(f"site {event['site']}: {event['url']}")
    return " ".join(parts)


_STRUCTURED_KINDS = frozenset(("node", "field", "member"))


def location(fragment: dict[str, Any]) -> str:
    """Where a fragment sat, e.g. ``row in table under 人脸属性 > 返回参数``.

    >>> location({"path": ["人脸属性", "返回参数"], "kind": "row"})
    'table row under 人脸属性 > 返回参数'
    >>> location({"path": ["第二章"], "kind": "text", "page": 3})
    'page 3, text under 第二章'
    >>> location({"path": ["paths", "/face/detect", "post"], "kind": "node"})
    'at /paths/~1face~1detect/post'
    """
    steps = fragment.get("path") or []
    if fragment.get("kind") in _STRUCTURED_KINDS:
        pointer = "".join("/" + s.replace("~", "~0").replace("/", "~1") for s in steps)
        return f"at {pointer or '/'}"
    page = f"page {fragment['page']}, " if fragment.get("page") else ""
    path = " > ".join(steps) or ("(top of page)" if not page else "(no heading)")
    kind = {
        "row": "table row",
        "item": "list item",
        "code": "code block",
        "heading": "heading",
    }.get(fragment.get("kind", ""), "text")
    return f"{page}{kind} under {path}"


def _provenance(capture: Row | None) -> str:
    """`` (archived 2020-12-17 08:00:05 at https://web.archive.org/...)`` for an imported copy."""
    if capture is None or not capture.get("source"):
        return ""
    return f"\n          archived {capture['archived_at']} at {capture['archive_url']}"


def _witness_lines(witnesses: Sequence[dict[str, Any]]) -> list[str]:
    lines = []
    for w in witnesses:
        state = w["status"]
        where = f" {w['archived_url']}" if w["archived_url"] else ""
        why = f" ({w['reason']})" if w["reason"] else ""
        lines.append(f"witness:  {w['archive']} {state}{where}{why}")
        copy = w.get("copy")
        if copy:
            lines.append(f"          the archive's copy: {copy.get('note')}")
    return lines


def change_text(view: ChangeView) -> str:
    """Terminal view of one change."""
    event = view.event
    lines = [
        f"change #{event['id']}  {event['kind']}  {event['watch']}",
        f"url:      {event['url']}",
        f"detected: {event['detected_at']}",
        f"from:     capture {event['from_capture']}  sha256 {event['from_snapshot']}"
        + _provenance(view.old),
        f"to:       capture {event['to_capture']}  sha256 {event['to_snapshot']}"
        + _provenance(view.new),
    ]
    if event.get("source", "live") != "live":
        lines.append(
            f"source:   derived from archived copies ({event['source']}); dated by the "
            "archive's time"
        )
    superseded = view.event.get("superseded_at")
    if superseded:
        lines.append(f"note:     superseded at {superseded} by a narrower change after an import")
    lines += _witness_lines(event.get("witnesses", []))
    for flag in event["flags"]:
        group = f"  (term group {flag['group']})" if flag.get("group") else ""
        lines.append(
            f"FLAG:     {flag['term']!r} {flag['direction']} ({flag['before']} -> {flag['after']})"
            f"{group}"
        )
    for edit in view.detail.get("edits", []):
        at = f"  ({edit['pointer'] or edit['where']})" if edit["pointer"] or edit["where"] else ""
        lines.append(f"EDIT:     {edit['summary']}{at}")
    gap = event.get("locale_gap")
    if gap:
        locales = gap.get("locales") or {}
        present = ", ".join(f"{w} ({locales.get(w, '?')})" for w in gap["present_in"])
        absent = ", ".join(f"{w} ({locales.get(w, '?')})" for w in gap["absent_in"])
        lines.append(f"GAP:      term group {gap['group']!r} {gap['state']}")
        lines.append(f"  in:     {present}")
        lines.append(f"  not in: {absent}")
        for watch, terms in (gap.get("terms") or {}).items():
            found = ", ".join(f"{t} ×{n}" for t, n in terms.items())
            lines.append(f"  {watch} mentions: {found}")
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
        "site",
        "runs_missing",
        "final_url",
        "from_url",
        "to_url",
        "failures",
        "after",
        "confirmations",
        "title",
        "chars",
        "reference_chars",
        "document_type",
        "pages",
        "images",
        "limit",  # an incomplete page: which limit, and why
        "reason",
    ):
        if key in view.detail:
            lines.append(f"{key}: {one_line(view.detail[key])}")
    for key in ("remaining_text", "page_text"):
        if view.detail.get(key):
            lines.append(f"\nwhat the page shows now ({key.replace('_', ' ')}):")
            lines.append(view.detail[key])
    if view.detail.get("fallback"):
        lines.append("\nnote: the diff hit its time limit; some regions are reported whole.")
    return "\n".join(lines)
