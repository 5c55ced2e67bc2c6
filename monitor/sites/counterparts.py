"""Language versions compared: ``locale_gap`` events, and what ``monitor locales`` shows.

Each set of counterparts is compared on the versions' current texts (the last good
capture of each watch). A term group present in some versions and absent in others
is a gap; a ``locale_gap`` event is raised when a gap opens, changes or closes, once,
because the texts compared and the gaps found are kept (``locale_state``). A version
never captured yet makes no claim of absence. The comparison itself is pure
(analysis/locales.py); reading texts and writing events is done here.

Two sites are counterparts page by page: a page of the first site is paired with the
page of the second whose URL the map gives (``/zh/`` -> ``/en/``); each pair is
compared on its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..analysis.events import EventDraft
from ..analysis.locales import (
    Gap,
    GapChange,
    GapState,
    TermGroups,
    find_gaps,
    gap_changes,
    pair_pages,
    structural_difference,
)
from ..config.sites import Counterparts
from ..config.watchlist import Watchlist
from ..documents.document import Document
from ..model import EventKind, utc_now
from ..report.json import contract_time
from ..store.base import EvidenceStore
from ..store.sites import SiteEvent


@dataclass(frozen=True)
class Version:
    """One language version of a document: its locale and the watch that follows it."""

    locale: str
    watch: str


@dataclass(frozen=True)
class PageSet:
    """The versions of one document (``pair``: '' for watches, else the first site's URL)."""

    counterparts: str
    pair: str
    versions: tuple[Version, ...]


@dataclass
class GapReport:
    """The ``locale_gap`` events one comparison raised."""

    counterparts: str
    pair: str
    changes: list[GapChange] = field(default_factory=list)
    change_ids: list[int] = field(default_factory=list)


def page_sets(store: EvidenceStore, counterparts: Counterparts) -> list[PageSet]:
    """The documents a set of counterparts compares (one for watches, one per page pair
    for sites)."""
    if counterparts.versions:
        versions = tuple(Version(locale, watch) for locale, watch in counterparts.versions)
        return [PageSet(counterparts.name, "", versions)]
    assert counterparts.url_map is not None
    (first_locale, first_site), (second_locale, second_site) = counterparts.sites
    records = store.sites()
    first = {p.url: p.watch for p in records.pages(first_site) if p.watched}
    second = {p.url: p.watch for p in records.pages(second_site) if p.watched}
    source, target = counterparts.url_map
    return [
        PageSet(
            counterparts.name,
            a,
            (Version(first_locale, first[a]), Version(second_locale, second[b])),
        )
        for a, b in pair_pages(first, second, source, target)
    ]


class Comparer:
    """Compares the versions of documents on one store, reading each text once."""

    def __init__(self, store: EvidenceStore, groups: TermGroups) -> None:
        self.store = store
        self.groups = groups
        self._text = lru_cache(maxsize=256)(self._load_text)

    def _load_text(self, sha: str) -> Document:
        return Document.from_json(self.store.get_blob(sha))

    def current(self, watch: str) -> tuple[int, str] | None:
        """A watch's current text: (capture id, text SHA-256), or None if never captured."""
        state = self.store.state(watch)
        if state.reference is None or state.reference_text is None:
            return None
        return state.reference, state.reference_text

    def document(self, text_sha: str) -> Document:
        return self._text(text_sha)

    def presence(self, text_sha: str) -> dict[str, dict[str, int]]:
        return self.groups.present(self.document(text_sha).text)

    def compare(self, page: PageSet) -> GapReport:
        """Compare one document's versions; record gap events if the gaps moved."""
        report = GapReport(page.counterparts, page.pair)
        if not self.groups:
            return report
        records = self.store.sites()
        current = {v.watch: self.current(v.watch) for v in page.versions}
        texts = {w: c[1] for w, c in current.items() if c is not None}
        old_texts, old_gaps = records.locale_state(page.counterparts, page.pair)
        if texts == old_texts:
            return report  # nothing new to compare
        presence = {w: self.presence(sha) for w, sha in texts.items()}
        gaps = find_gaps(presence, [v.watch for v in page.versions])
        before = {g: Gap.from_dict(d) for g, d in old_gaps.items()}
        report.changes = gap_changes(before, gaps)
        changed = [w for w in texts if old_texts.get(w) != texts[w]]
        events = [
            self._event(page, change, current, presence, changed) for change in report.changes
        ]
        report.change_ids = records.record_locale(
            page.counterparts,
            page.pair,
            texts,
            {g: gap.to_dict() for g, gap in gaps.items()},
            events,
            utc_now(),
        )
        return report

    def _event(
        self,
        page: PageSet,
        change: GapChange,
        current: dict[str, tuple[int, str] | None],
        presence: dict[str, dict[str, dict[str, int]]],
        changed: list[str],
    ) -> SiteEvent:
        gap = change.gap
        # The event belongs to the version whose new text moved the gap; its evidence
        # is that version's capture and, as "from", the other side's.
        watch = next(iter(changed), gap.present_in[0])
        others = [w for w in (*gap.absent_in, *gap.present_in) if w != watch]
        other = others[0] if others else None
        captures = {w: c[0] for w, c in current.items() if c is not None}
        locales = {v.watch: v.locale for v in page.versions}
        detail: dict[str, Any] = {
            "counterparts": page.counterparts,
            "pair": page.pair or None,
            **change.to_dict(),
            "locales": {w: locales[w] for w in (*gap.present_in, *gap.absent_in)},
            "terms": {w: presence[w].get(gap.group, {}) for w in gap.present_in},
            "captures": captures,
        }
        draft = EventDraft(
            EventKind.LOCALE_GAP,
            captures.get(other) if other else None,
            captures[watch],
            detail=detail,
        )
        return SiteEvent(watch, draft)


def compare_all(
    store: EvidenceStore, watchlist: Watchlist, watches: Iterable[str] | None = None
) -> list[GapReport]:
    """Compare every set of counterparts (or those with a version among ``watches``)."""
    groups = TermGroups(dict(watchlist.term_groups))
    comparer = Comparer(store, groups)
    wanted = set(watches) if watches is not None else None
    reports = []
    for counterparts in watchlist.counterparts:
        for page in page_sets(store, counterparts):
            if wanted is not None and not wanted & {v.watch for v in page.versions}:
                continue
            report = comparer.compare(page)
            if report.changes:
                reports.append(report)
    return reports


def describe(
    store: EvidenceStore, watchlist: Watchlist, counterparts: Counterparts
) -> dict[str, Any]:
    """What ``monitor locales NAME`` shows: per document, which term groups each version
    mentions now and since when, the gaps, and the structural difference."""
    groups = TermGroups(dict(watchlist.term_groups))
    comparer = Comparer(store, groups)
    since = _gap_since(store, counterparts.name)
    pages = []
    for page in page_sets(store, counterparts):
        versions = [_version(store, comparer, v) for v in page.versions]
        known = {v["watch"]: v for v in versions if v["capture"] is not None}
        presence = {w: v["groups"] for w, v in known.items()}
        gaps = find_gaps(presence, [v.watch for v in page.versions])
        structure = []
        texts = [(v.watch, comparer.current(v.watch)) for v in page.versions]
        captured = [(w, c) for w, c in texts if c is not None]
        # Every other version against the first (the one the set names first).
        for first, second in ((captured[0], other) for other in captured[1:]):
            difference = structural_difference(
                comparer.document(first[1][1]), comparer.document(second[1][1])
            )
            structure.append({"first": first[0], "second": second[0], **difference.to_dict()})
        pages.append(
            {
                "pair": page.pair or None,
                "versions": versions,
                "gaps": [
                    {**gap.to_dict(), "since": since.get((page.pair, gap.group))}
                    for gap in gaps.values()
                ],
                "structure": structure,
            }
        )
    return {
        "name": counterparts.name,
        "kind": "watches" if counterparts.versions else "sites",
        "map": list(counterparts.url_map) if counterparts.url_map else None,
        "groups": {name: list(terms) for name, terms in watchlist.term_groups},
        "pages": pages,
    }


def _version(store: EvidenceStore, comparer: Comparer, version: Version) -> dict[str, Any]:
    current = comparer.current(version.watch)
    found: dict[str, Any] = {
        "watch": version.watch,
        "locale": version.locale,
        "capture": current[0] if current else None,
        "captured_at": None,
        "groups": {},
    }
    if current is None:
        return found
    row = store.capture(current[0])
    found["captured_at"] = contract_time(row["fetched_at"])
    found["url"] = row["final_url"] or row["url"]
    presence = comparer.presence(current[1])
    found["groups"] = {
        group: {"terms": terms, "since": _present_since(store, comparer, version.watch, group)}
        for group, terms in presence.items()
    }
    return found


def _present_since(store: EvidenceStore, comparer: Comparer, watch: str, group: str) -> str:
    """When a group's unbroken presence in a watch's text began (the first capture of it).

    Walks the watch's captures with text from the newest back, reading each distinct
    text once, until one lacks the group.
    """
    since = None
    seen: dict[str, bool] = {}
    for row in reversed(store.captures(watch)):
        sha = row["text_sha256"]
        if sha is None or row["outcome"] not in ("ok", "unchanged", "not_modified"):
            continue
        if sha not in seen:
            seen[sha] = group in comparer.presence(sha)
        if not seen[sha]:
            break
        since = row["fetched_at"]
    return contract_time(since) if since else ""


def _gap_since(store: EvidenceStore, name: str) -> dict[tuple[str, str], str]:
    """When each open gap opened: (pair, group) -> time of its last ``open`` event."""
    opened: dict[tuple[str, str], str] = {}
    for row in store.sites().gap_events(name):
        detail = json.loads(row["detail"])
        key = (detail.get("pair") or "", detail["group"])
        if detail["state"] == GapState.OPEN:
            opened[key] = contract_time(row["detected_at"])
        elif detail["state"] == GapState.CLOSED:
            opened.pop(key, None)
    return opened
