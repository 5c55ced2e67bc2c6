"""Tuning a watch before trusting it: the page's own noise and what the rules keep.

``monitor watchlist test FILE NAME`` fetches a page twice; whatever differs between two
fetches seconds apart is noise (timestamps, request ids, rotating banners). This module
turns that noise into suggested ``ignore`` patterns and summarises what ``select`` and
``exclude`` keep. Pure functions; the command does the fetching.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .analysis.compare import Comparison, Fragment, compare
from .config.watchlist import Watch
from .documents.classify import classify
from .documents.decode import decode_body
from .documents.document import Document
from .documents.html import extract_html
from .fetch.http import Fetcher, FetchPolicy

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
    # re.escape also escapes "-", which needs no escape outside a character class.
    return _SPACES.sub(r"\\s+", "".join(pieces)).replace("\\-", "-")


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


async def _fetch_twice(watch: Watch, policy: FetchPolicy, wait: float) -> list[tuple[str, str]]:
    """Two (outcome, decoded text) pairs, ``wait`` seconds apart."""
    fetched = []
    async with Fetcher(policy) as fetcher:
        for attempt in range(2):
            if attempt:
                await asyncio.sleep(wait)
            capture = await fetcher.fetch(watch.url, watch.headers)
            text = decode_body(capture.body, capture.header("content-type")).text
            verdict = classify(capture, text)
            fetched.append((f"{verdict.outcome} (HTTP {capture.status}) {verdict.reason}", text))
    return fetched


async def show_tuning(watch: Watch, policy: FetchPolicy, wait: float) -> list[str]:
    """The report of ``monitor watchlist test``, as lines."""
    (first_outcome, first), (second_outcome, second) = await _fetch_twice(watch, policy, wait)
    lines = [
        f"watch {watch.name}: {watch.url}",
        f"fetch 1: {first_outcome}",
        f"fetch 2: {second_outcome}",
        "",
    ]
    kept = extract_html(second, watch.select, watch.exclude, watch.ignore)
    whole = extract_html(second)
    lines += _coverage_lines(watch, coverage(kept, whole))
    lines += ["", "What the watch keeps (first blocks):", *("  " + p for p in preview(kept))]
    raw_noise = compare(
        extract_html(first, watch.select, watch.exclude),
        extract_html(second, watch.select, watch.exclude),
    )
    noise = compare(extract_html(first, watch.select, watch.exclude, watch.ignore), kept)
    lines += ["", *_noise_lines(raw_noise, noise)]
    return lines


def _coverage_lines(watch: Watch, cover: Coverage) -> list[str]:
    if not cover.selected:
        return [f"select {watch.select!r} matches NOTHING on this page: fix it before use."]
    return [
        f"select {watch.select or '(whole page)'!r}, exclude {list(watch.exclude)}: keeps "
        f"{cover.kept_blocks} of {cover.page_blocks} blocks, {cover.kept_chars} of "
        f"{cover.page_chars} characters ({cover.share:.0%})."
    ]


def _noise_lines(raw_noise: Comparison, noise: Comparison) -> list[str]:
    if not raw_noise.changed:
        return ["No text differed between the two fetches: no noise seen."]
    lines = ["Text that differed between the two fetches (the page's own noise):"]
    for fragment in (*raw_noise.removed, *raw_noise.added):
        lines.append(f"  {fragment.before[-20:]}[{fragment.text}]{fragment.after[:20]}")
    if not noise.changed:
        return [*lines, "Your ignore rules already silence all of it."]
    lines.append("Still noisy after your ignore rules; suggested additions:")
    lines += [f"  - '{pattern}'" for pattern in suggestions(noise)]
    return lines
