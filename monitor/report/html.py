"""The self-contained HTML report of one change.

Everything that comes from a monitored page is untrusted. The report is rendered by
Jinja2 with autoescaping on, inline CSS only, no scripts and a Content-Security-Policy
that forbids them, so a page containing ``<script>``, ``onerror=``, ``javascript:``
links or ``</style>`` tricks shows as text and runs nothing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape

from ..analysis.compare import DELETE, INSERT
from ..analysis.flag import find_terms
from ..documents.textnorm import HAN_KANA, KANA
from ..safe import html_text
from .text import location
from .view import ChangeView

_HAN_OR_KANA = re.compile(f"[{HAN_KANA}]")
_KANA = re.compile(f"[{KANA}]")


def language(detail: dict[str, Any]) -> str:
    """The language a change's wording is in (zh, ja or en), for ``<html lang>``."""
    sample = json.dumps(detail, ensure_ascii=False)[:20000]
    if _KANA.search(sample):
        return "ja"
    return "zh" if _HAN_OR_KANA.search(sample) else "en"


def marked(text: str, terms: Sequence[str]) -> list[dict[str, Any]]:
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


def hunk_views(detail: dict[str, Any], terms: Sequence[str]) -> list[dict[str, Any]]:
    """The inline and side-by-side views of a change's hunks, watched terms marked."""
    hunks = []
    for hunk in detail.get("hunks", []):
        segments = [{"op": op, "pieces": marked(text, terms)} for op, text in hunk["segments"]]
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
        loader=PackageLoader("monitor.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        finalize=html_text,  # every value shown: credentials redacted, controls visible
        trim_blocks=True,
        lstrip_blocks=True,
    )


def fragment_views(detail: dict[str, Any], terms: Sequence[str]) -> dict[str, list[Any]]:
    """Removed and added fragments with their location and watched terms marked."""
    return {
        label: [
            {**f, "where": location(f), "pieces": marked(f["text"], terms)}
            for f in detail.get(label, [])
        ]
        for label in ("removed", "added")
    }


def relative_link(link: str | None, directory: Path) -> str | None:
    """A local ``file://`` link made relative to where the report is written.

    A report handed on with its data directory (or copied next to it) keeps working;
    an absolute path into the operator's disk would not.

    >>> relative_link("file:///data/blobs/ab/ab12.gz", Path("/data"))
    'blobs/ab/ab12.gz'
    """
    if not link or not link.startswith("file://"):
        return link
    target = Path(unquote(urlsplit(link).path))
    return quote(os.path.relpath(target, directory))


def change_html(view: ChangeView, written_to: Path | None = None) -> str:
    """Self-contained HTML report of one change (inline CSS, no scripts).

    ``written_to``: the report's own path, so links to raw snapshots are relative to it.
    """
    old_blob, new_blob = view.old_blob, view.new_blob
    if written_to is not None:
        folder = written_to.resolve().parent
        old_blob, new_blob = relative_link(old_blob, folder), relative_link(new_blob, folder)
    template = _environment().get_template("change.html")
    fragments = fragment_views(view.detail, view.terms)
    return template.render(
        event=view.event,
        watch=view.watch,
        lang=language(view.detail),
        old=view.old,
        new=view.new,
        old_blob=old_blob,
        new_blob=new_blob,
        fragments=fragments,
        moved=view.detail.get("moved", []),
        hunks=hunk_views(view.detail, view.terms),
        detail=view.detail,
        DELETE=DELETE,
        INSERT=INSERT,
    )
