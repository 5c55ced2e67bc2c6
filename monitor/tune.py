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
from .documents.patterns import PatternTimeout
from .fetch.http import Fetcher, FetchPolicy
from .model import Outcome

_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"(?:\\ )+")
# Volatile tokens, most specific first: a UUID; a run of word characters (and the
# characters of base64 and URLs' tokens) holding a digit: an id, a hash, a timestamp.
_VOLATILE = re.compile(
    r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"
    r"|[A-Za-z0-9+/_=.:-]*\d[A-Za-z0-9+/_=.:-]*"
    r"|(?=[\w+/=-]*[a-z])(?=[\w+/=-]*[A-Z])[A-Za-z0-9+/_=-]{20,}"  # base64 without digits
)
_NUMERIC = re.compile(r"[\d\-:./]+")  # dates and times: keep their separators
_HEX = re.compile(r"[0-9a-fA-F]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_FEW_CHARS = 20  # a watched text shorter than this is "almost nothing"
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

    Ids, hashes and tokens become classes, so one rule covers the next value too:

    >>> suggest_pattern(Fragment("b4fbf2f1c0e94c5d", (), "text", "Request ID: b4fbf2f1c0e94c5d",
    ...                          before="Request ID: "))
    'Request\\s+ID:\\s+[0-9a-fA-F]+'
    >>> _generalise("3f2504e0-4f89-11d3-9a0c-0305e82c3301 dGVzdDEyMzQ1Ng== QUJDREVGR0hJSktMTU5PUFF")
    '[0-9a-fA-F-]{36}\\s+[\\w+/=.:-]+\\s+[\\w+/=.:-]+'
    """
    if fragment.text == fragment.block:
        return f"^{_generalise(fragment.text)}$"
    label = fragment.before[-_LABEL_CHARS:].lstrip()
    return _generalise(label) + _generalise(fragment.text)


def _generalise(text: str) -> str:
    """Literal text escaped, volatile tokens as character classes, spaces as ``\\s+``."""
    pieces = []
    position = 0
    for match in _VOLATILE.finditer(text):
        pieces.append(_literal(text[position : match.start()]))
        pieces.append(_token_class(match.group(0)))
        position = match.end()
    pieces.append(_literal(text[position:]))
    return "".join(pieces)


def _literal(text: str) -> str:
    # re.escape also escapes "-", which needs no escape outside a character class.
    return _SPACES.sub(r"\\s+", re.escape(text)).replace("\\-", "-")


def _token_class(token: str) -> str:
    if _UUID.fullmatch(token):
        return "[0-9a-fA-F-]{36}"
    if _NUMERIC.fullmatch(token):  # 2020-12-09, 10:21:33, 8812: digits, separators kept
        return _DIGITS.sub(r"\\d+", _literal(token))
    if len(token) >= 6 and _HEX.fullmatch(token):
        return "[0-9a-fA-F]+"
    return r"[\w+/=.:-]+"


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


@dataclass(frozen=True)
class Fetched:
    outcome: Outcome
    summary: str  # "ok (HTTP 200) ..." for the report
    text: str  # the decoded body


@dataclass(frozen=True)
class Tuning:
    """The report of ``monitor watchlist test`` and, if the page cannot be watched, why."""

    lines: list[str]
    problem: str | None


async def _fetch_twice(watch: Watch, policy: FetchPolicy, wait: float) -> list[Fetched]:
    """Two fetches, ``wait`` seconds apart."""
    fetched = []
    async with Fetcher(policy) as fetcher:
        for attempt in range(2):
            if attempt:
                await asyncio.sleep(wait)
            capture = await fetcher.fetch(watch.url, watch.request_headers())
            text = decode_body(capture.body, capture.header("content-type")).text
            verdict = classify(capture, text)
            summary = f"{verdict.outcome} (HTTP {capture.status}) {verdict.reason}"
            fetched.append(Fetched(verdict.outcome, summary, text))
    return fetched


def watchability(fetched: Fetched, kept: Document) -> str | None:
    """Why a page cannot be watched as configured, or None.

    >>> page = "<html>" + "<script src=a.js></script>" * 5 + '<div id="app"></div></html>'
    >>> print(watchability(Fetched(Outcome.OK, "", page), Document()))  # doctest: +ELLIPSIS
    almost no text (0 characters) but 5 scripts: ... try `fetch: browser`
    """
    if fetched.outcome in (Outcome.TRANSIENT, Outcome.ERROR):
        return f"the page is unreachable: {fetched.summary}"
    if fetched.outcome in (Outcome.GONE, Outcome.BLOCKED):
        return f"the page is {fetched.outcome}: {fetched.summary}"
    if kept.incomplete:  # checks would record it as incomplete, never compare it
        return f"the page's text cannot be read in full: {kept.incomplete}"
    chars = len(kept.text)
    if chars >= _FEW_CHARS:
        return None
    scripts = fetched.text.lower().count("<script")
    if scripts >= 3:
        return (
            f"almost no text ({chars} characters) but {scripts} scripts: the page is probably "
            "rendered by JavaScript; try `fetch: browser`"
        )
    return f"almost no text ({chars} characters): check the URL and the select/exclude rules"


async def show_tuning(watch: Watch, policy: FetchPolicy, wait: float) -> Tuning:
    """The report of ``monitor watchlist test``."""
    first, second = await _fetch_twice(watch, policy, wait)
    lines = [
        f"watch {watch.name}: {watch.url}",
        f"fetch 1: {first.summary}",
        f"fetch 2: {second.summary}",
        "",
    ]
    try:
        kept = extract_html(second.text, watch.select, watch.exclude, watch.ignore)
        earlier = extract_html(first.text, watch.select, watch.exclude, watch.ignore)
    except PatternTimeout as slow:  # bounded time: a runaway ignore pattern is a finding
        return Tuning([*lines, f"NOT WATCHABLE AS IS: {slow.reason(watch.name)}"], str(slow))
    whole = extract_html(second.text)
    lines += _coverage_lines(watch, coverage(kept, whole))
    lines += ["", "What the watch keeps (first blocks):", *("  " + p for p in preview(kept))]
    raw_noise = compare(
        extract_html(first.text, watch.select, watch.exclude),
        extract_html(second.text, watch.select, watch.exclude),
    )
    noise = compare(earlier, kept)
    lines += ["", *_noise_lines(raw_noise, noise)]
    problem = watchability(second, kept)
    if problem:
        lines += ["", f"NOT WATCHABLE AS IS: {problem}"]
    return Tuning(lines, problem)


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
