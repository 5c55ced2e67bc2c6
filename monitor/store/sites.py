"""What the store keeps about sites and language versions (migration 2).

- ``sites``: one row per site: its configuration, the scope fingerprint its page set
  was last taken under, and whether a complete run has set its baseline.
- ``site_pages``: the site's pages, each the watch it became (by name) and where it
  stands (active, missing, removed, gone, moved, out of scope). Mutable state, like a
  watch's state: what it claims is proven by captures, runs and change events.
- ``site_runs``: one append-only row per discovery run: its sources (each a capture
  with the raw bytes of a robots.txt, sitemap or start page), its counts, its errors,
  and the SHA-256 of its manifest blob (the page list it found, with the capture
  that listed each page).
- ``locale_state``: per set of counterparts (and page pair), the texts last compared
  and the gaps found, so a ``locale_gap`` event is raised once per opening and once
  per closing.

A discovery run is written in one transaction: run row, page records, the watches
new pages become, and their events, so a crash leaves the run recorded whole or not
at all (its captures, written as they were fetched, stay as evidence either way).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..analysis.events import EventDraft
from ..analysis.pageset import Page
from ..model import iso, utc_now
from .base import Row

if TYPE_CHECKING:
    from .sqlite import SQLiteStore


@dataclass(frozen=True)
class SiteRun:
    """One discovery run, as recorded."""

    site: str
    started_at: datetime
    finished_at: datetime
    complete: bool
    baseline: bool
    listed: int  # in-scope pages the sources listed
    pages: int  # pages watched after the run
    summary: dict[str, int] = field(default_factory=dict)  # added, removed, moved, ...
    sources: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    manifest_sha256: str | None = None


@dataclass(frozen=True)
class SiteEvent:
    """An event a discovery run raises for one page's watch."""

    watch: str
    draft: EventDraft


class SiteRecords(Protocol):
    """What discovery, ``monitor sites`` and ``monitor locales`` need from a store."""

    def ensure_site(self, name: str, config: dict[str, Any], watch_url: str) -> None: ...
    def site(self, name: str) -> Row | None: ...
    def site_names(self) -> list[str]: ...
    def pages(self, site: str) -> list[Page]: ...
    def page_of(self, watch: str) -> tuple[str, Page] | None: ...
    def page_counts(self, site: str) -> dict[str, int]: ...
    def taken_names(self) -> set[str]: ...
    def runs(self, site: str, limit: int | None = None) -> list[Row]: ...
    def record_run(
        self,
        run: SiteRun,
        pages: Sequence[Page],
        events: Sequence[SiteEvent],
        watches: Sequence[tuple[str, str, dict[str, Any]]],
        scope: str,
        baselined: bool,
    ) -> tuple[int, list[int]]: ...
    def locale_state(
        self, counterparts: str, pair: str
    ) -> tuple[dict[str, Any], dict[str, Any]]: ...
    def record_locale(
        self,
        counterparts: str,
        pair: str,
        texts: dict[str, Any],
        gaps: dict[str, Any],
        events: Sequence[SiteEvent],
        at: datetime,
    ) -> list[int]: ...
    def gap_events(self, counterparts: str) -> list[Row]: ...


class SQLiteSites:
    """Site and locale records in a :class:`~monitor.store.sqlite.SQLiteStore`.

    The SQL is kept portable: the PostgreSQL store runs the same class through a
    SQLite-style adapter (postgres_sites.py), overriding the few expressions below.
    """

    _ORDER = "rowid"  # the order pages were first recorded in
    _COUNTERPARTS = "json_extract(detail, '$.counterparts')"

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._store._transaction() as db:
            yield db

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._store._query(sql, params)

    # -- sites ----------------------------------------------------------------------

    def ensure_site(self, name: str, config: dict[str, Any], watch_url: str) -> None:
        """Register a site (or refresh its configuration), and the watch its discovery
        captures are recorded under (the site's name)."""
        now = iso(utc_now())
        with self._transaction() as db:
            db.execute(
                "INSERT INTO sites (name, config, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET config = excluded.config",
                (name, json.dumps(config, ensure_ascii=False), now),
            )
            _upsert_watch(db, name, watch_url, {"site": config}, now)

    def site(self, name: str) -> Row | None:
        rows = self._query("SELECT * FROM sites WHERE name = ?", (name,))
        return rows[0] if rows else None

    def site_names(self) -> list[str]:
        return [r["name"] for r in self._query("SELECT name FROM sites ORDER BY name")]

    def pages(self, site: str) -> list[Page]:
        rows = self._query(
            "SELECT url, watch, status, missing_runs, listed_capture FROM site_pages "
            f"WHERE site = ? ORDER BY {self._ORDER}",
            (site,),
        )
        return [_page(r) for r in rows]

    def page_of(self, watch: str) -> tuple[str, Page] | None:
        """The site page a watch follows, if it is one (a watched record first)."""
        rows = self._query(
            "SELECT site, url, watch, status, missing_runs, listed_capture FROM site_pages "
            f"WHERE watch = ? ORDER BY status NOT IN ('active', 'missing'), {self._ORDER}",
            (watch,),
        )
        return (rows[0]["site"], _page(rows[0])) if rows else None

    def page_counts(self, site: str) -> dict[str, int]:
        rows = self._query(
            "SELECT status, COUNT(*) AS n FROM site_pages WHERE site = ? GROUP BY status",
            (site,),
        )
        return {r["status"]: r["n"] for r in rows}

    def taken_names(self) -> set[str]:
        """Every watch name in use (watches, sites, site pages)."""
        rows = self._query("SELECT name FROM watches UNION SELECT watch FROM site_pages")
        return {r["name"] for r in rows}

    def runs(self, site: str, limit: int | None = None) -> list[Row]:
        sql = "SELECT * FROM site_runs WHERE site = ? ORDER BY id DESC"
        params: list[Any] = [site]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return self._query(sql, params)

    def record_run(
        self,
        run: SiteRun,
        pages: Sequence[Page],
        events: Sequence[SiteEvent],
        watches: Sequence[tuple[str, str, dict[str, Any]]],
        scope: str,
        baselined: bool,
    ) -> tuple[int, list[int]]:
        """Write a discovery run whole: its row, page records, watches, events."""
        detected = iso(run.finished_at)
        # One recording transaction: the events are chained like a check's (evidence/).
        with self._store.recording() as writer:
            db = writer.db
            run_id = self._insert_run(
                db,
                "INSERT INTO site_runs (site, started_at, finished_at, complete, baseline, "
                "listed, pages, summary, sources, errors, manifest_sha256) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.site,
                    iso(run.started_at),
                    detected,
                    int(run.complete),
                    int(run.baseline),
                    run.listed,
                    run.pages,
                    json.dumps(run.summary),
                    json.dumps(run.sources, ensure_ascii=False),
                    json.dumps(run.errors, ensure_ascii=False),
                    run.manifest_sha256,
                ),
            )
            for name, url, config in watches:
                _upsert_watch(db, name, url, config, detected)
            db.executemany(
                "INSERT INTO site_pages (site, watch, url, status, missing_runs, listed_capture, "
                "first_run, last_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (site, watch) DO UPDATE SET url = excluded.url, "
                "status = excluded.status, missing_runs = excluded.missing_runs, "
                "listed_capture = excluded.listed_capture, last_run = excluded.last_run",
                [
                    (run.site, p.watch, p.url, p.status, p.missing_runs, p.listed_capture, *ids)
                    for p in pages
                    for ids in [(run_id, run_id)]
                ],
            )
            change_ids = [writer.add_event(e.watch, detected, e.draft) for e in events]
            db.execute(
                "UPDATE sites SET scope = ?, baselined = ? WHERE name = ?",
                (scope, int(baselined), run.site),
            )
        return run_id, change_ids

    def _insert_run(self, db: Any, sql: str, params: Sequence[Any]) -> int:
        return int(db.execute(sql, params).lastrowid or 0)

    # -- language versions ------------------------------------------------------------

    def locale_state(self, counterparts: str, pair: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The texts last compared and the gaps found then ({} and {} the first time)."""
        rows = self._query(
            "SELECT texts, gaps FROM locale_state WHERE counterparts = ? AND pair = ?",
            (counterparts, pair),
        )
        if not rows:
            return {}, {}
        return json.loads(rows[0]["texts"]), json.loads(rows[0]["gaps"])

    def record_locale(
        self,
        counterparts: str,
        pair: str,
        texts: dict[str, Any],
        gaps: dict[str, Any],
        events: Sequence[SiteEvent],
        at: datetime,
    ) -> list[int]:
        """Write a comparison's outcome and its ``locale_gap`` events together."""
        detected = iso(at)
        with self._store.recording() as writer:
            writer.db.execute(
                "INSERT INTO locale_state (counterparts, pair, texts, gaps, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (counterparts, pair) DO UPDATE SET "
                "texts = excluded.texts, gaps = excluded.gaps, updated_at = excluded.updated_at",
                (
                    counterparts,
                    pair,
                    json.dumps(texts, ensure_ascii=False),
                    json.dumps(gaps, ensure_ascii=False),
                    detected,
                ),
            )
            return [writer.add_event(e.watch, detected, e.draft) for e in events]

    def gap_events(self, counterparts: str) -> list[Row]:
        """The ``locale_gap`` events of a set of counterparts, oldest first."""
        return self._query(
            f"SELECT * FROM changes WHERE kind = 'locale_gap' AND {self._COUNTERPARTS} = ? "
            "ORDER BY id",
            (counterparts,),
        )


def _page(row: Row) -> Page:
    return Page(
        url=row["url"],
        watch=row["watch"],
        status=row["status"],
        missing_runs=row["missing_runs"],
        listed_capture=row["listed_capture"],
    )


def _upsert_watch(db: Any, name: str, url: str, config: dict[str, Any], now: str) -> None:
    db.execute(
        "INSERT INTO watches (name, url, config, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET url = excluded.url, config = excluded.config",
        (name, url, json.dumps(config, ensure_ascii=False), now),
    )
