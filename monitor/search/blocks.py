"""The index's small pieces: block identity, per-character tokens, versions, coverage."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from ..documents.textnorm import fold
from ..errors import ConfigError
from ..model import Outcome

# Outcomes whose capture shows a text version of the page (the reference can move to
# it). A selector_missing capture's near-empty text is not a version: nothing it lacks
# was removed from the page, the watch lost sight of it (as for change events).
TEXT_OUTCOMES = (str(Outcome.OK), str(Outcome.UNCHANGED), str(Outcome.NOT_MODIFIED))

# Han ideographs and kana: each its own token in ``search_chars``.
CJK = r"\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{CJK}]+")
# The characters of a block that can do without trigrams (candidates.py says why): ASCII,
# the letters that start a word for the watched-term rule (analysis/flag.py), Han and
# kana, and punctuation and symbols that are no token for unicode61 in any Unicode
# version. Anything else (Hangul, Arabic, 々, ①, emoji, a lone combining mark...) might
# glue onto a word as part of its token, and its block keeps its trigrams.
_PLAIN = (
    r"\x00-\x7f\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"
    + CJK
    + r"\u00a1-\u00a7\u00a9\u00ab\u00ac\u00ae\u00b0\u00b1\u00b6\u00b7\u00bb\u00bf"
    + r"\u2010-\u2027\u2030-\u205e\u2190-\u21ff\u25a0-\u25ff"
    + r"\u3001-\u3004\u3008-\u3020\u3030\u303d"
)
_NOT_PLAIN = re.compile(f"[^{_PLAIN}]")


def block_key(text: str) -> bytes:
    """The identity of a block's text (128-bit BLAKE2b): equal texts are stored once.

    >>> block_key("是否是维族").hex()[:8]
    'd234b8c4'
    """
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def block_texts(data: bytes | str) -> list[str]:
    """The texts of a stored text version's blocks (``Document.to_json``), read from its
    JSON without building the Document (that was a tenth of indexing a first capture).

    >>> block_texts('{"title":"t","selected":true,"blocks":[["text","a",[]],["row","b",[]]]}')
    ['a', 'b']
    """
    payload = json.loads(data)
    if "title" not in payload or "selected" not in payload:  # as Document.from_json
        raise ValueError("not a stored text version (no title or selected)")
    return [item[1] for item in payload["blocks"]]


def needs_trigrams(folded: str) -> bool:
    """True when a folded block (or term) has a character outside the plain ones above:
    only such blocks are in ``search_trigrams``; the others are found by their words.

    >>> needs_trigrams("是否是维族:API、«café»"), needs_trigrams("한국 api")
    (False, True)
    """
    return _NOT_PLAIN.search(folded) is not None


def char_tokens(folded: str) -> str:
    """What ``search_chars`` indexes: every Han/kana character set apart by spaces.

    >>> char_tokens("是否是维族api")
    ' 是 否 是 维 族 api'
    """
    if folded.isascii():  # most blocks of an English page: nothing to set apart
        return folded
    return _CJK_RUN.sub(lambda run: f" {' '.join(run.group())} ", folded)


@dataclass(frozen=True)
class Version:
    """One text capture of a watch, as the index sees it."""

    capture: int
    watch: str
    fetched_at: str  # as stored: ISO-8601 UTC, sortable as text
    text_sha256: str


@dataclass(frozen=True)
class Coverage:
    """How much of the store the index covers (for warnings and ``--rebuild`` advice)."""

    indexed_from: int  # text captures with an id at or below this predate the index
    mark: int  # every capture up to this id has been looked at
    latest: int  # the store's latest capture id
    unindexed_before: int  # text captures recorded before the index existed

    @property
    def complete(self) -> bool:
        return self.unindexed_before == 0 and self.mark >= self.latest


def is_blank(text: str) -> bool:
    """True when a query has nothing to look for once folded.

    >>> is_blank(" \u3000\x0c"), is_blank("维族")
    (True, False)
    """
    return not fold(text.strip()).strip()


def normalise_query(text: str) -> str:
    """The folded form a query is matched on; refuses an empty one.

    >>> normalise_query("  是否是維族 ")
    '是否是维族'
    """
    folded = fold(text.strip())
    if not folded.strip():
        raise ConfigError("the search text is empty: give the wording to look for")
    return folded
