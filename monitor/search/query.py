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
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..analysis.flag import _occurrences, find_terms
from ..documents.textnorm import fold
from .blocks import TEXT_OUTCOMES, normalise_query
from .candidates import matching_blocks
from .index import SearchIndex, _placeholders

_SNIPPET_CONTEXT = 40  # characters of context either side of the first match


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


def search(
    index: SearchIndex, text: str, watch: str | None = None, limit: int | None = None
) -> list[WatchHit]:
    """Per watch: first and last seen, whether it is there now, where it appeared and
    vanished. Most recent activity first; ``limit`` watches."""
    return search_page(index, text, watch, limit)[0]


def search_page(
    index: SearchIndex, text: str, watch: str | None = None, limit: int | None = None
) -> tuple[list[WatchHit], int]:
    """:func:`search`, and how many watches matched in all (when ``limit`` cut them)."""
    term = normalise_query(text)
    db = index.db
    periods = _periods(db, matching_blocks(index, term), watch)
    # Ordered by the latest appearance or disappearance, before any per-watch work.
    order = sorted(periods, key=lambda name: (_last_move(periods[name]), name), reverse=True)
    chosen = order[:limit] if limit else order
    context = _Context.load(db, chosen, periods)
    return [_hit(db, name, periods[name], context, text) for name in chosen], len(order)


def _last_move(periods: list[_Period]) -> tuple[str, int]:
    last = periods[-1]
    return last.end if last.end is not None else last.start


# -- periods ----------------------------------------------------------------------------


def _periods(
    db: sqlite3.Connection, blocks: list[int], watch: str | None
) -> dict[str, list[_Period]]:
    """Per watch, the merged periods in which some matching block was in its text."""
    if not blocks:
        return {}
    sql = (
        "SELECT watch, block, first_capture, first_at, until_capture, until_at "
        "FROM search_spans WHERE block IN (SELECT value FROM json_each(?))"
    )
    params: list[Any] = [json.dumps(blocks)]
    if watch is not None:
        sql += " AND watch = ?"
        params.append(watch)
    spans: dict[str, list[tuple[tuple[str, int], tuple[str, int] | None, int]]] = defaultdict(
        list
    )
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


# -- the watches shown --------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What the shown watches need, read in a few queries for all of them."""

    first: dict[str, int]  # each watch's earliest indexed capture
    watches: dict[str, tuple[str, dict[str, Any]]]  # url, configuration
    latest: dict[str, str]  # the outcome of each watch's latest check
    changes: dict[int, tuple[int, str]]  # capture -> (change id, kind) recorded there

    @classmethod
    def load(
        cls, db: sqlite3.Connection, names: list[str], periods: dict[str, list[_Period]]
    ) -> _Context:
        chosen = json.dumps(names)
        captures = [
            point[1]
            for name in names
            for p in periods[name]
            for point in (p.start, p.end)
            if point is not None
        ]
        changes: dict[int, tuple[int, str]] = {}
        for capture, change, kind in db.execute(
            "SELECT to_capture, id, kind FROM changes WHERE to_capture IN "
            "(SELECT value FROM json_each(?)) ORDER BY id",
            (json.dumps(captures),),
        ):
            changes.setdefault(capture, (change, kind))
        return cls(
            first=dict(
                db.execute(
                    "SELECT watch, first_capture FROM search_watches "
                    "WHERE watch IN (SELECT value FROM json_each(?))",
                    (chosen,),
                ).fetchall()
            ),
            watches={
                name: (url, json.loads(config))
                for name, url, config in db.execute(
                    "SELECT name, url, config FROM watches "
                    "WHERE name IN (SELECT value FROM json_each(?))",
                    (chosen,),
                )
            },
            latest=dict(
                db.execute(
                    "SELECT watch, outcome FROM captures WHERE id IN (SELECT MAX(id) "
                    "FROM captures WHERE watch IN (SELECT value FROM json_each(?)) "
                    "GROUP BY watch)",
                    (chosen,),
                ).fetchall()
            ),
            changes=changes,
        )


def _hit(
    db: sqlite3.Connection, watch: str, periods: list[_Period], context: _Context, text: str
) -> WatchHit:
    def step(event: str, point: tuple[str, int]) -> Transition:
        change, kind = context.changes.get(point[1], (None, None))
        return Transition(
            event,
            point[1],
            _contract(point[0]),
            change,
            kind,
            first_capture=event == "appeared" and point[1] == context.first.get(watch),
        )

    transitions: list[Transition] = []
    for period in periods:
        transitions.append(step("appeared", period.start))
        if period.end is not None:
            transitions.append(step("vanished", period.end))
    last = periods[-1]
    present = last.end is None
    last_seen = _last_text_capture(db, watch, None if present else last.end) or Seen(
        last.start[1], _contract(last.start[0])
    )
    url, config = context.watches.get(watch, ("", {}))
    return WatchHit(
        watch=watch,
        url=url,
        present_now=present,
        first_seen=Seen(periods[0].start[1], _contract(periods[0].start[0])),
        last_seen=last_seen,
        transitions=tuple(transitions),
        snippet=_snippet(db, last, text, last_seen.capture),
        vendor=config.get("vendor"),
        latest_outcome=context.latest.get(watch),
    )


def _last_text_capture(
    db: sqlite3.Connection, watch: str, before: tuple[str, int] | None
) -> Seen | None:
    """The watch's last capture that showed a text version (before a point in time)."""
    sql = (
        "SELECT id, fetched_at FROM captures WHERE watch = ? AND text_sha256 IS NOT NULL "
        f"AND outcome IN ({_placeholders(TEXT_OUTCOMES)})"
    )
    params: list[Any] = [watch, *TEXT_OUTCOMES]
    if before is not None:
        sql += " AND (fetched_at < ? OR (fetched_at = ? AND id < ?))"
        params += [before[0], before[0], before[1]]
    row = db.execute(sql + " ORDER BY fetched_at DESC, id DESC LIMIT 1", params).fetchone()
    return Seen(row[0], _contract(row[1])) if row else None


def _snippet(
    db: sqlite3.Connection, period: _Period, query: str, capture: int
) -> Snippet | None:
    """From the block that entered the page last (the wording as it most recently read);
    among blocks that entered together, the same one whatever their ids (by key)."""
    newest = max(period.blocks.values())
    together = [b for b, start in period.blocks.items() if start == newest]
    keys = dict(
        db.execute(
            "SELECT id, key FROM search_blocks WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(together),),
        ).fetchall()
    )
    earlier = sorted(
        (b for b, start in period.blocks.items() if start != newest),
        key=lambda b: period.blocks[b],
        reverse=True,
    )
    term = fold(query)
    for block in sorted(together, key=lambda b: keys[b]) + earlier:
        (text,) = db.execute("SELECT text FROM search_blocks WHERE id = ?", (block,)).fetchone()
        spans = _first_match(text, term) or find_terms(text, [query])
        if spans:
            start, end = spans[0]
            return Snippet(
                before=text[max(0, start - _SNIPPET_CONTEXT) : start],
                match=text[start:end],
                after=text[end : end + _SNIPPET_CONTEXT],
                capture=capture,
            )
    return None


def _first_match(text: str, term: str) -> list[tuple[int, int]]:
    """Where the folded term starts in the text, when folding kept every character in
    place (most text: then one fold of the block is enough, not one per character)."""
    folded = fold(text)
    if len(folded) != len(text):
        return []
    at = next(_occurrences(folded, term), None)
    return [] if at is None else [(at, at + len(term))]


def _contract(stored: str) -> str:
    """Stored time -> ISO-8601 to the second with Z (as the change JSON shows times).

    >>> _contract("2020-12-17T08:00:00.123456Z")
    '2020-12-17T08:00:00Z'
    """
    return stored[:19] + "Z"
