"""Answering a search: where and when a wording appeared or vanished, per watch.

A query is folded like a watched term and matched like one (a substring, Chinese
without spaces included; a term starting with a Latin letter or digit must start a
word). The FTS5 tables only propose candidate blocks; every candidate is confirmed on
its folded text with the same rule as term flags, so the index can never report what
``monitor show`` would not show.

For each watch whose history has a matching block, the spans of those blocks are
merged into the periods in which the watch's text contained the wording; their starts
are where it appeared, their ends where it vanished, each with the change event
recorded at that capture (if any).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..analysis.flag import find_terms, occurs
from ..documents.textnorm import fold
from ..errors import ConfigError
from .blocks import TEXT_OUTCOMES
from .index import SearchIndex, _placeholders

_SNIPPET_CONTEXT = 40  # characters of context either side of the first match
_ONLY_CJK = re.compile("[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_SHORT_WORD = re.compile("[0-9a-z]{1,2}")


@dataclass(frozen=True)
class Seen:
    """A capture, by id and time (contract form: ISO-8601 UTC, seconds, Z)."""

    capture: int
    at: str

    def to_dict(self) -> dict[str, Any]:
        return {"capture": self.capture, "at": self.at}


@dataclass(frozen=True)
class Transition:
    """The wording appeared in, or vanished from, a watch's text at a capture."""

    event: str  # "appeared" | "vanished"
    capture: int
    at: str
    change: int | None = None  # the change event recorded at that capture
    change_kind: str | None = None
    first_capture: bool = False  # there from the watch's first indexed capture

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "capture": self.capture,
            "at": self.at,
            "change": self.change,
            "change_kind": self.change_kind,
            "first_capture": self.first_capture,
        }


@dataclass(frozen=True)
class Snippet:
    """The wording in context, from the last version of the page that had it."""

    before: str
    match: str
    after: str
    capture: int

    @property
    def text(self) -> str:
        return f"…{self.before}{self.match}{self.after}…"


@dataclass(frozen=True)
class WatchHit:
    """Everything a search says about one watch."""

    watch: str
    url: str
    present_now: bool
    first_seen: Seen
    last_seen: Seen
    transitions: tuple[Transition, ...]
    snippet: Snippet | None
    vendor: str | None = None
    latest_outcome: str | None = None  # what the watch's latest check found

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``monitor search --format json`` (docs/cli.md)."""
        return {
            "watch": self.watch,
            "url": self.url,
            "present_now": self.present_now,
            "first_seen": self.first_seen.at,
            "first_capture": self.first_seen.capture,
            "last_seen": self.last_seen.at,
            "last_capture": self.last_seen.capture,
            "transitions": [t.to_dict() for t in self.transitions],
            "snippet": self.snippet.text if self.snippet else None,
            "snippet_capture": self.snippet.capture if self.snippet else None,
            "latest_outcome": self.latest_outcome,
        }


@dataclass
class _Period:
    """A run of versions whose text contained the wording: [start, end)."""

    start: tuple[str, int]  # (fetched_at, capture)
    end: tuple[str, int] | None  # None: still there
    blocks: dict[int, tuple[str, int]] = field(default_factory=dict)  # block -> its start


def normalise_query(text: str) -> str:
    """The folded form a query is matched on; refuses an empty one.

    >>> normalise_query("  是否是維族 ")
    '是否是维族'
    """
    folded = fold(text.strip())
    if not folded.strip():
        raise ConfigError("the search text is empty: give the wording to look for")
    return folded


def search(
    index: SearchIndex, text: str, watch: str | None = None, limit: int | None = None
) -> list[WatchHit]:
    """Per watch: when the wording was first and last seen, whether it is there now,
    where it appeared and vanished. Most recent activity first."""
    term = normalise_query(text)
    db = index.db
    blocks = _matching_blocks(db, term, watch)
    periods = _periods(db, blocks, watch)
    hits = [_hit(db, name, spans, blocks, text) for name, spans in periods.items()]
    hits.sort(key=lambda h: (h.transitions[-1].at, h.watch), reverse=True)
    return hits[:limit] if limit else hits


# -- candidates -------------------------------------------------------------------------


def _matching_blocks(db: sqlite3.Connection, term: str, watch: str | None) -> dict[int, str]:
    """Blocks whose folded text contains the term by the watched-term rule: id -> text."""
    if "\x00" in term:  # FTS5 reads NUL as the end of its query: scan instead
        rows = db.execute(
            "SELECT id, text, folded FROM search_blocks WHERE instr(folded, ?) > 0", (term,)
        )
    elif len(term) >= 3:
        # A trigram phrase query is a substring query; quotes in it are doubled.
        phrase = '"' + term.replace('"', '""') + '"'
        rows = db.execute(
            "SELECT b.id, b.text, b.folded FROM search_trigrams t "
            "JOIN search_blocks b ON b.id = t.rowid WHERE search_trigrams MATCH ?",
            (phrase,),
        )
    elif _ONLY_CJK.fullmatch(term) or _SHORT_WORD.fullmatch(term):
        # One or two Han/kana characters: a phrase of single-character tokens; a short
        # Latin word start: a prefix query (the term must start a word anyway).
        query = '"' + " ".join(term) + '"' if _ONLY_CJK.fullmatch(term) else f'"{term}" *'
        rows = db.execute(
            "SELECT b.id, b.text, b.folded FROM search_chars c "
            "JOIN search_blocks b ON b.id = c.rowid WHERE search_chars MATCH ?",
            (query,),
        )
    else:  # e.g. "%" or "é." : rare, and a scan of the folded blocks answers it
        rows = db.execute(
            "SELECT id, text, folded FROM search_blocks WHERE instr(folded, ?) > 0", (term,)
        )
    return {block: text for block, text, folded in rows if occurs(folded, term)}


# -- periods ----------------------------------------------------------------------------


def _periods(
    db: sqlite3.Connection, blocks: dict[int, str], watch: str | None
) -> dict[str, list[_Period]]:
    """Per watch, the merged periods in which some matching block was in its text."""
    if not blocks:
        return {}
    sql = (
        "SELECT s.watch, s.block, s.first_capture, f.fetched_at, s.until_capture, u.fetched_at "
        "FROM search_spans s JOIN captures f ON f.id = s.first_capture "
        "LEFT JOIN captures u ON u.id = s.until_capture "
        "WHERE s.block IN (SELECT value FROM json_each(?))"
    )
    params: list[Any] = [json.dumps(list(blocks))]
    if watch is not None:
        sql += " AND s.watch = ?"
        params.append(watch)
    spans: dict[str, list[tuple[tuple[str, int], tuple[str, int] | None, int]]] = defaultdict(list)
    for name, block, first, first_at, until, until_at in db.execute(sql, params):
        end = (until_at, until) if until is not None else None
        spans[name].append(((first_at, first), end, block))
    return {name: _merge(items) for name, items in spans.items()}


def _merge(
    spans: Iterable[tuple[tuple[str, int], tuple[str, int] | None, int]],
) -> list[_Period]:
    """Merge overlapping or touching spans (a wording that moved to another paragraph
    in the same version never left the page).

    >>> [(p.start[1], p.end and p.end[1]) for p in _merge([
    ...     (("a", 1), ("c", 3), 7), (("c", 3), None, 8), (("e", 5), ("f", 6), 9)])]
    [(1, None)]
    >>> [(p.start[1], p.end and p.end[1]) for p in _merge([
    ...     (("a", 1), ("b", 2), 7), (("c", 3), None, 8)])]
    [(1, 2), (3, None)]
    """
    periods: list[_Period] = []
    for start, end, block in sorted(spans, key=lambda s: s[0]):
        current = periods[-1] if periods else None
        if current is not None and (current.end is None or start <= current.end):
            if current.end is not None and (end is None or end > current.end):
                current.end = end
            current.blocks[block] = max(start, current.blocks.get(block, start))
        else:
            periods.append(_Period(start, end, {block: start}))
    return periods


# -- one watch --------------------------------------------------------------------------


def _hit(
    db: sqlite3.Connection, watch: str, periods: list[_Period], blocks: dict[int, str], text: str
) -> WatchHit:
    first_indexed = db.execute(  # the watch's earliest indexed version, in time
        "SELECT s.first_capture FROM search_spans s JOIN captures c ON c.id = s.first_capture "
        "WHERE s.watch = ? ORDER BY c.fetched_at, c.id LIMIT 1",
        (watch,),
    ).fetchone()[0]
    changes = _changes_at(
        db, [p.start[1] for p in periods] + [p.end[1] for p in periods if p.end is not None]
    )
    def step(event: str, point: tuple[str, int]) -> Transition:
        change, kind = changes.get(point[1], (None, None))
        return Transition(
            event,
            point[1],
            _contract(point[0]),
            change,
            kind,
            first_capture=event == "appeared" and point[1] == first_indexed,
        )

    transitions: list[Transition] = []
    for period in periods:
        transitions.append(step("appeared", period.start))
        if period.end is not None:
            transitions.append(step("vanished", period.end))
    last = periods[-1]
    present = last.end is None
    last_seen = _last_text_capture(db, watch, None if present else last.end)
    row = db.execute("SELECT url, config FROM watches WHERE name = ?", (watch,)).fetchone()
    url, config = (row[0], json.loads(row[1])) if row else ("", {})
    latest = db.execute(
        "SELECT outcome FROM captures WHERE watch = ? ORDER BY id DESC LIMIT 1", (watch,)
    ).fetchone()
    return WatchHit(
        watch=watch,
        url=url,
        present_now=present,
        first_seen=Seen(periods[0].start[1], _contract(periods[0].start[0])),
        last_seen=last_seen or Seen(last.start[1], _contract(last.start[0])),
        transitions=tuple(transitions),
        snippet=_snippet(blocks, last, text, (last_seen or Seen(last.start[1], "")).capture),
        vendor=config.get("vendor"),
        latest_outcome=latest[0] if latest else None,
    )


def _changes_at(db: sqlite3.Connection, captures: Sequence[int]) -> dict[int, tuple[int, str]]:
    """The change event recorded at each capture (the first, if several): id, kind."""
    found: dict[int, tuple[int, str]] = {}
    for capture, change, kind in db.execute(
        "SELECT to_capture, id, kind FROM changes WHERE to_capture IN "
        "(SELECT value FROM json_each(?)) ORDER BY id",
        (json.dumps(list(captures)),),
    ):
        found.setdefault(capture, (change, kind))
    return found


def _last_text_capture(
    db: sqlite3.Connection, watch: str, before: tuple[str, int] | None
) -> Seen | None:
    """The watch's last capture that showed a text version (before a point in time)."""
    sql = (
        "SELECT id, fetched_at FROM captures WHERE watch = ? AND text_sha256 NOT NULL "
        f"AND outcome IN ({_placeholders(TEXT_OUTCOMES)})"
    )
    params: list[Any] = [watch, *TEXT_OUTCOMES]
    if before is not None:
        sql += " AND (fetched_at < ? OR (fetched_at = ? AND id < ?))"
        params += [before[0], before[0], before[1]]
    row = db.execute(sql + " ORDER BY fetched_at DESC, id DESC LIMIT 1", params).fetchone()
    return Seen(row[0], _contract(row[1])) if row else None


def _snippet(blocks: dict[int, str], period: _Period, query: str, capture: int) -> Snippet | None:
    """From the block that entered the page last (the wording as it most recently read)."""
    latest_first = sorted(period.blocks, key=lambda b: (period.blocks[b], blocks[b]), reverse=True)
    for block in latest_first:
        text = blocks[block]
        spans = find_terms(text, [query])
        if spans:
            start, end = spans[0]
            return Snippet(
                before=text[max(0, start - _SNIPPET_CONTEXT) : start],
                match=text[start:end],
                after=text[end : end + _SNIPPET_CONTEXT],
                capture=capture,
            )
    return None


def _contract(stored: str) -> str:
    """Stored time -> ISO-8601 to the second with Z (as the change JSON shows times).

    >>> _contract("2020-12-17T08:00:00.123456Z")
    '2020-12-17T08:00:00Z'
    """
    return stored[:19] + "Z"
