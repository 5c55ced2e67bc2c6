"""A stored text as today's extractor reads its page, for comparisons.

Extraction gets fixed: generation 2 stopped a heading from taking in the text after it.
A text stored before such a fix, compared with one extracted after it, would report
what only the extractor changed as an edit of the page, a removal that never happened.
So a comparison reads an HTML text of an older generation again, from the raw bytes
kept with its capture, with the watch's rules; the stored text stays as it was, the
evidence of what was extracted then.

>>> from monitor.documents.document import Block
>>> outdated(Document(blocks=(Block("text", "x"),)))
True
>>> outdated(Document(generation=HTML_GENERATION)), outdated(Document(type="pdf"))
(False, False)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from .decode import decode_body
from .document import Document
from .html import HTML_GENERATION, extract_html
from .patterns import PatternTimeout


class Blobs(Protocol):
    def get_blob(self, digest: str) -> bytes: ...


class Captures(Blobs, Protocol):
    def capture(self, capture_id: int) -> Mapping[str, Any]: ...


class Reference(Protocol):  # a watch's state (analysis.events.WatchState)
    @property
    def reference(self) -> int | None: ...
    @property
    def reference_text(self) -> str | None: ...


class Rules(Protocol):  # a watch (config.watchlist.Watch)
    @property
    def select(self) -> str | None: ...
    @property
    def exclude(self) -> Sequence[str]: ...
    @property
    def ignore(self) -> Sequence[str]: ...


def reference_document(store: Captures, state: Reference, watch: Rules) -> Document:
    """The text of a watch's last good capture, as today's extractor reads it."""
    stored = Document.from_json(store.get_blob(state.reference_text or ""))
    if not outdated(stored) or state.reference is None:
        return stored
    return current_document(stored, store.capture(state.reference), store, watch)


def outdated(document: Document) -> bool:
    """An HTML text made by an older generation of the extractor."""
    return document.type == "html" and document.generation < HTML_GENERATION


def current_document(
    stored: Document, capture: Mapping[str, Any], blobs: Blobs, rules: Rules
) -> Document:
    """``stored`` (the text of ``capture``) as today's extractor reads the capture's raw
    bytes; ``stored`` itself when it is current, or when its page cannot be read again
    in full (no raw bytes kept, a limit, an ``ignore`` pattern out of time): then the
    comparison is as it always was."""
    if not outdated(stored) or not capture.get("body_sha256"):
        return stored
    body = blobs.get_blob(capture["body_sha256"])
    decoded = decode_body(body, _content_type(capture.get("headers")))
    try:
        again = extract_html(decoded.text, rules.select, rules.exclude, rules.ignore)
    except PatternTimeout:
        return stored
    return stored if again.incomplete or decoded.lossy else again


def _content_type(headers: object) -> str | None:
    pairs: Any = json.loads(headers) if isinstance(headers, str) else headers or []
    for name, value in pairs:
        if str(name).lower() == "content-type":
            return str(value)
    return None
