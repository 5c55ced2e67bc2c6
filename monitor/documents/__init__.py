"""Documents: decode, classify, and extract a capture's visible text, per document type.

One extractor per document type, chosen by a plain table (:data:`EXTRACTORS`): each is
``f(content, select, exclude, ignore) -> Document``, where ``content`` is what the type
is read from (HTML: its text or clean UTF-8 bytes; PDF: the raw bytes; JSON and YAML:
the decoded text). :func:`document_type` picks the type from the response's
``Content-Type``, the body's first bytes and the URL. The check path also uses the HTML
extractor's cheap tests (skeleton, fingerprint) directly.

>>> EXTRACTORS["html"]("<p>是否是维族</p>").text
'是否是维族'
>>> EXTRACTORS["json"]('{"uygur": true}').text
'uygur: true'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..model import Outcome
from .document import Document
from .html import extract_html
from .limits import SIZE_LIMIT, TIME_BUDGET, TooLarge
from .patterns import PatternTimeout as PatternTimeout  # any extractor's ignore rules

# The PDF and YAML/JSON readers load when a document of theirs comes (pypdf, PyYAML):
# an HTML page, and the start-up of every check, need neither.

Extractor = Callable[..., Document]

HTML, PDF, JSON, YAML = "html", "pdf", "json", "yaml"
PDF_MAGIC = b"%PDF-"


def _pdf(
    content: bytes,
    select: str | None = None,
    exclude: Sequence[str] = (),
    ignore: Sequence[str] = (),
) -> Document:
    """select/exclude are CSS rules: they do not apply to a PDF. Read in a child process
    with a memory and a time limit (isolated.py)."""
    from .isolated import read_pdf

    return read_pdf(content, ignore)


def _json(
    content: str | bytes,
    select: str | None = None,
    exclude: Sequence[str] = (),
    ignore: Sequence[str] = (),
) -> Document:
    from .structured import extract_structured

    return extract_structured(content, JSON, ignore)


def _yaml(
    content: str | bytes,
    select: str | None = None,
    exclude: Sequence[str] = (),
    ignore: Sequence[str] = (),
) -> Document:
    from .structured import extract_structured

    return extract_structured(content, YAML, ignore)


EXTRACTORS: dict[str, Extractor] = {
    HTML: extract_html,
    PDF: _pdf,
    JSON: _json,
    YAML: _yaml,
}

_JSON_TYPES = re.compile(r"^(?:application|text)/(?:[\w.+-]+\+)?(?:x-)?json$")
_YAML_TYPES = re.compile(
    r"^(?:application|text)/(?:[\w.+-]+\+)?(?:x-)?yaml$|^application/vnd\.oai\.openapi$"
)
_UNTYPED = frozenset(("", "text/plain", "application/octet-stream", "binary/octet-stream"))


def is_pdf(body: bytes) -> bool:
    """PDF magic bytes near the start (some servers put a few bytes before them).

    >>> is_pdf(b"%PDF-1.7\\n..."), is_pdf(b"\\n\\n%PDF-1.4"), is_pdf(b"<html>")
    (True, True, False)
    """
    return PDF_MAGIC in body[:1024]


def document_type(content_type: str | None, body: bytes, url: str = "") -> str:
    """The document type of a response: ``html``, ``pdf``, ``json`` or ``yaml``.

    PDF magic bytes win over any declared type (servers mislabel PDFs); a declared JSON
    or YAML type is believed; an untyped or ``text/plain`` body (raw file hosts serve
    OpenAPI files so) is JSON when it starts like JSON, YAML when its URL says so.
    Everything else is HTML, the extractor that reads any text.

    >>> document_type("application/octet-stream", b"%PDF-1.7 ...")
    'pdf'
    >>> document_type("application/vnd.oai.openapi+json;version=3.0", b"{}")
    'json'
    >>> document_type("text/plain; charset=utf-8", b"openapi: 3.0.0", "https://x/api.yaml")
    'yaml'
    >>> document_type("text/plain", b'  {"swagger": "2.0"}'), document_type(None, b"<p>x")
    ('json', 'html')
    """
    if is_pdf(body):
        return PDF
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/pdf":
        return PDF
    if _JSON_TYPES.match(media):
        return JSON
    if _YAML_TYPES.match(media):
        return YAML
    if media in _UNTYPED:
        if body.lstrip()[:1] in (b"{", b"["):
            return JSON
        if urlsplit(url).path.lower().endswith((".yaml", ".yml")):
            return YAML
        if urlsplit(url).path.lower().endswith(".json"):
            return JSON
    return HTML


@dataclass(frozen=True)
class Unreadable:
    """Why a document has no wording to compare, as a check outcome.

    A scan (no text layer) is a warning of its own; a damaged or cut-off PDF or JSON is
    an error, never a document with less wording.
    """

    outcome: Outcome
    reason: str
    detail: dict[str, object] = field(default_factory=dict)


def read_document(
    kind: str, content: str | bytes, ignore: Sequence[str] = ()
) -> Document | Unreadable:
    """Extract a PDF, JSON or YAML document, or say why it cannot be read.

    >>> read_document("json", '{"a": ').outcome
    <Outcome.ERROR: 'error'>
    """
    from .isolated import PdfTooSlow
    from .pdf import NoTextLayer, PdfError
    from .structured import StructuredError

    try:
        return extractor_for(kind)(content, None, (), ignore)
    except (TooLarge, PdfTooSlow) as error:
        # A time budget is confirmed on a second check, a size at once (events.py).
        limit = TIME_BUDGET if isinstance(error, PdfTooSlow) else SIZE_LIMIT
        why: dict[str, object] = {"limit": limit, "reason": str(error), "document_type": kind}
        return Unreadable(Outcome.INCOMPLETE, str(error), why)
    except NoTextLayer as error:
        detail = {"pages": error.pages, "images": error.images, "document_type": kind}
        return Unreadable(Outcome.NO_TEXT_LAYER, str(error), detail)
    except (PdfError, StructuredError) as error:
        return Unreadable(Outcome.ERROR, str(error), {"document_type": kind})


def extractor_for(kind: str) -> Extractor:
    """The extractor for a document type (``html``...); KeyError names the known ones."""
    try:
        return EXTRACTORS[kind]
    except KeyError:
        raise KeyError(f"no extractor for {kind!r} (known: {', '.join(EXTRACTORS)})") from None


__all__ = [
    "EXTRACTORS",
    "Document",
    "Extractor",
    "Unreadable",
    "document_type",
    "extractor_for",
    "read_document",
]
