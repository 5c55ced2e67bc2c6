"""Tuning a watch before trusting it: the page's own noise and what the rules keep.

``monitor watchlist test FILE NAME`` fetches a page twice; whatever differs between two
fetches seconds apart is noise (timestamps, request ids, rotating banners). This module
turns that noise into suggested ``ignore`` patterns and summarises what ``select`` and
``exclude`` keep. Pure functions; the command does the fetching.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .compare import Comparison, Fragment
from .extract import Document

_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"(?:\\ )+")
_LABEL_CHARS = 12  # how much of the stable text before a change anchors a pattern


def suggest_pattern(fragment: Fragment) -> str:
    r"""An ``ignore`` regex for a noisy fragment: digits generalised, label kept.

    A fragment that is the whole block is anchored to the line; otherwise the
    stable text just before it (a label such as ``更新时间：``) anchors it.

    >>> suggest_pattern(Fragment("2020-12-09 10:21:33", (), "text", "更新时间：2020-12-09 10:21:33",
    ...                          before="更新时间："))
    '更新时间：\\d+-\\d+-\\d+\\s+\\d+:\\d+:\\d+'
    >>> suggest_pattern(Fragment("Request id 8812", (), "text", "Request id 8812"))
    '^Request\\s+id\\s+\\d+$'
    """
    if fragment.text == fragment.block:
        return f"^{_generalise(fragment.text)}$"
    label = fragment.before[-_LABEL_CHARS:].lstrip()
    return _generalise(label) + _generalise(fragment.text)


def _generalise(text: str) -> str:
    pieces = []
    position = 0
    for match in _DIGITS.finditer(text):
        pieces.append(re.escape(text[position : match.start()]))
        pieces.append(r"\d+")
        position = match.end()
    pieces.append(re.escape(text[position:]))
    return _SPACES.sub(r"\\s+", "".join(pieces))


def suggestions(noise: Comparison) -> list[str]:
    """Distinct ignore patterns that would silence the noise between two fetches."""
    seen: dict[str, None] = {}
    for fragment in (*noise.removed, *noise.added):
        seen.setdefault(suggest_pattern(fragment), None)
    return list(seen)


@dataclass(frozen=True)
class Coverage:
    """What a watch's select/exclude rules keep of a page."""

    kept_blocks: int
    kept_chars: int
    page_blocks: int
    page_chars: int
    selected: bool

    @property
    def share(self) -> float:
        return self.kept_chars / self.page_chars if self.page_chars else 0.0


def coverage(kept: Document, whole: Document) -> Coverage:
    return Coverage(
        kept_blocks=len(kept.blocks),
        kept_chars=len(kept.text),
        page_blocks=len(whole.blocks),
        page_chars=len(whole.text),
        selected=kept.selected,
    )


def preview(document: Document, limit: int = 12, width: int = 100) -> Iterable[str]:
    """The first blocks of a document, one line each, for a quick look."""
    for block in document.blocks[:limit]:
        path = " > ".join(block.path[-2:])
        text = block.text.replace("\n", " ⏎ ")
        yield f"[{block.kind}] {text[:width]}{'…' if len(text) > width else ''}   ({path})"
    if len(document.blocks) > limit:
        yield f"… and {len(document.blocks) - limit} more blocks"
