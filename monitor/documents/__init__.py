"""Documents: decode, classify, and extract a capture's visible text, per document type.

One extractor per document type, chosen by a plain table (:data:`EXTRACTORS`): each is
``f(text, select, exclude, ignore) -> Document``. HTML is the only type today; the
check path also uses the HTML extractor's cheap tests (skeleton, fingerprint) directly.

>>> EXTRACTORS["html"]("<p>是否是维族</p>").text
'是否是维族'
"""

from __future__ import annotations

from collections.abc import Callable

from .document import Document
from .html import extract_html

Extractor = Callable[..., Document]

EXTRACTORS: dict[str, Extractor] = {
    "html": extract_html,
}


def extractor_for(kind: str) -> Extractor:
    """The extractor for a document type (``html``...); KeyError names the known ones."""
    try:
        return EXTRACTORS[kind]
    except KeyError:
        raise KeyError(f"no extractor for {kind!r} (known: {', '.join(EXTRACTORS)})") from None


__all__ = ["EXTRACTORS", "Document", "Extractor", "extractor_for"]
