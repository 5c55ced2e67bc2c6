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

# Runs of Han ideographs and kana: one token per character in ``search_chars``.
_CJK_RUN = re.compile("[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


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
