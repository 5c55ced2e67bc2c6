"""Reading an archived copy exactly as a check reads a live page.

The raw (``id_``) replay gives the bytes the page's server sent. They are decoded,
classified and extracted with the watch's own rules, so an archived version and a live
one are compared like two live ones. Two guards keep the archive's furniture out:
only ``id_`` replays are read, and a body that still carries the replay toolbar or its
URL rewriter is refused rather than extracted (``wayback.furniture``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..analysis.compare import compare
from ..documents import HTML, PDF, PatternTimeout, Unreadable, document_type, read_document
from ..documents.classify import classify
from ..documents.decode import decode_body
from ..documents.document import Document
from ..documents.html import extract_html
from ..model import Capture, Outcome
from .wayback import furniture

_ORIGINAL = "x-archive-orig-"


@dataclass(frozen=True)
class Rules:
    """A watch's extraction rules, as stored with the watch."""

    select: str | None = None
    exclude: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Rules:
        """From a watch's stored configuration (the watch's fields as JSON)."""
        return cls(
            select=config.get("select"),
            exclude=tuple(config.get("exclude") or ()),
            ignore=tuple(config.get("ignore") or ()),
            terms=tuple(config.get("terms") or ()),
        )


@dataclass(frozen=True)
class Reading:
    """What an archived body says, to the same rules as a live check."""

    outcome: Outcome
    reason: str = ""
    encoding: str | None = None
    document: Document | None = None


def original_headers(headers: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The page's own headers inside a replay answer.

    The replay passes the archived response's headers on as ``X-Archive-Orig-*``; in
    ``id_`` mode ``Content-Type`` is the page's own too.

    >>> original_headers([("Content-Type", "text/html; charset=gbk"),
    ...                   ("X-Archive-Orig-Server", "Tengine"), ("Memento-Datetime", "x")])
    (('content-type', 'text/html; charset=gbk'), ('server', 'Tengine'))
    """
    found: dict[str, str] = {}
    for name, value in headers:
        low = name.lower()
        if low.startswith(_ORIGINAL):
            found.setdefault(low[len(_ORIGINAL) :], value)
        elif low == "content-type":
            found["content-type"] = value  # the replay's own header wins over orig-
    return tuple(found.items())


def read_copy(
    url: str,
    status: int,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    fetched_at: datetime,
    rules: Rules,
) -> Reading:
    """Classify and extract an archived response (``headers``: the page's own)."""
    marker = furniture(body)
    if marker is not None:
        return Reading(
            Outcome.ERROR,
            f"the archive returned a rewritten page (found {marker!r}), not the raw copy; "
            "nothing of it was extracted",
        )
    capture = Capture(
        url=url, fetched_at=fetched_at, status=status, headers=tuple(headers), body=body
    )
    media = capture.header("content-type")
    kind = document_type(media, body, url)
    # As a live check does: a PDF's bytes are not text; PDF, JSON and YAML have their own
    # extractors; HTML takes the watch's select/exclude rules.
    decoded = None if kind == PDF else decode_body(body, media)
    verdict = classify(capture, decoded.text if decoded is not None else "")
    encoding = decoded.encoding if decoded is not None else None
    if verdict.outcome != Outcome.OK:
        return Reading(verdict.outcome, verdict.reason, encoding)
    try:
        if kind != HTML or decoded is None:
            read = read_document(kind, decoded.text if decoded is not None else body, rules.ignore)
            if isinstance(read, Unreadable):
                return Reading(read.outcome, read.reason, encoding)
            return Reading(Outcome.OK, "", encoding, read)
        document = extract_html(decoded.text, rules.select, rules.exclude, rules.ignore)
    except PatternTimeout as slow:  # as a live check records it: never compared
        return Reading(slow.outcome, f"{slow}; the archived copy was not compared", encoding)
    if problem := decoded.lossy or document.incomplete:  # never a shorter text as the page's
        return Reading(Outcome.INCOMPLETE, problem, decoded.encoding)
    if not document.selected:
        return Reading(
            Outcome.SELECTOR_MISSING,
            f"select rule {rules.select!r} matched nothing in the archived copy",
            decoded.encoding,
            document,
        )
    return Reading(Outcome.OK, "", decoded.encoding, document)


@dataclass(frozen=True)
class CopyCheck:
    """Does the archive's copy match ours? Recorded with a witness."""

    sha256: str
    sha256_matches: bool
    text_matches: bool | None  # None: the copy's text could not be read
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "sha256_matches": self.sha256_matches,
            "text_matches": self.text_matches,
            "note": self.note,
        }


def check_copy(
    ours_sha256: str | None,
    ours: Document | None,
    copy_sha256: str,
    copy: Reading,
) -> CopyCheck:
    """Compare the archive's copy with our capture: bytes first, then visible text.

    Byte-identical copies are rare for dynamic pages (request ids, render times), so the
    text, extracted with the watch's rules, is what tells whether the archive saw the
    same wording; when it did not, the note says what differs.
    """
    same_bytes = ours_sha256 is not None and ours_sha256 == copy_sha256
    if same_bytes:
        return CopyCheck(copy_sha256, True, True, "the archive's copy is byte-identical to ours")
    if copy.document is None or ours is None:
        why = copy.reason or "no text to compare"
        return CopyCheck(copy_sha256, False, None, f"bytes differ; the copy's text unread: {why}")
    comparison = compare(ours, copy.document)
    if not comparison.changed:
        return CopyCheck(
            copy_sha256, False, True, "bytes differ, the visible text is the same as ours"
        )
    removed = [f.text for f in comparison.removed][:5]
    added = [f.text for f in comparison.added][:5]
    parts = []
    if removed:
        parts.append("ours has, the archive's lacks: " + " | ".join(removed))
    if added:
        parts.append("the archive's has, ours lacks: " + " | ".join(added))
    return CopyCheck(
        copy_sha256,
        False,
        False,
        "the text differs (the page may have changed again before the archive's visit); "
        + "; ".join(parts),
    )
