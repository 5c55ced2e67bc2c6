"""A discovery run: read a site's robots.txt, sitemaps and start pages, and turn the
pages they list into watches (or report pages that left, moved or vanished).

Every file read is fetched by monitor's own fetcher (User-Agent, TLS, retries and
per-host politeness as for any page) and recorded as a capture of the site, with its
raw bytes kept and, as its text, the URLs it lists: ``monitor history SITE`` shows
them, ``monitor verify`` checks them. The run's page list is kept as a manifest blob.
The decisions are analysis/pageset.py's; this module does the reading and the writing.

Memory stays bounded however big the site: one sitemap is held at a time, and only
the known pages plus at most ``max_pages`` new ones are remembered from the listing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..analysis.events import EventDraft
from ..analysis.pageset import DirectCheck, Page, PageStatus, Settlement, rescope, settle
from ..check import Checker, CheckResult, watch_config
from ..config.sites import Site
from ..config.watchlist import Watch
from ..fetch.http import HttpFetcher
from ..model import EventKind, WatchStatus, utc_now
from ..store.base import EvidenceStore
from ..store.sites import SiteEvent, SiteRun
from .reading import Listing, Reading, SiteReader
from .scope import Scope, canonical_url, page_watch_name

log = logging.getLogger(__name__)

MAX_SITEMAP_DEPTH = 5  # sitemap indexes nested deeper than this are not followed
MAX_SITEMAPS = 2000  # sitemap files read in one run
MAX_OTHER_HOSTS = 20  # hosts besides the sources' whose robots.txt a run may read


@dataclass(frozen=True)
class Discovery:
    """What one discovery run found and decided."""

    site: str
    run_id: int
    complete: bool
    baseline: bool
    listed: int  # in-scope pages listed (those remembered)
    pages: int  # pages watched after the run
    summary: dict[str, int]
    errors: list[str]
    events: list[tuple[str, str, str]]  # (kind, watch, url)
    change_ids: list[int]
    added: list[Watch] = field(default_factory=list)  # new page watches (to schedule)
    retired: list[str] = field(default_factory=list)  # watches no longer followed
    renamed: list[Watch] = field(default_factory=list)  # watches re-pointed at a new URL
    checked: dict[str, CheckResult] = field(default_factory=dict)  # direct checks made
    crawl_delays: dict[str, float] = field(default_factory=dict)  # host -> seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "run": self.run_id,
            "complete": self.complete,
            "baseline": self.baseline,
            "listed": self.listed,
            "pages": self.pages,
            **self.summary,
            "errors": self.errors,
            "events": [{"kind": k, "watch": w, "url": u} for k, w, u in self.events],
        }


class Discoverer:
    """Runs discovery for the sites of one watchlist, with one store and one fetcher."""

    def __init__(
        self,
        store: EvidenceStore,
        fetcher: HttpFetcher,
        checker: Checker,
        own_watches: Sequence[Watch] = (),
    ) -> None:
        """``own_watches``: the watchlist's watches. A site page at one of their URLs is
        that watch (checked with its own rules), not a second watch of the same page."""
        self.store = store
        self.records = store.sites()
        self.fetcher = fetcher
        self.checker = checker
        self.own = {w.name: w for w in own_watches}
        self.watched_urls: dict[str, str] = {}
        for watch in own_watches:
            url = canonical_url(watch.url)
            if url is not None:
                self.watched_urls.setdefault(url, watch.name)
        self.reader = SiteReader(store, fetcher)

    async def discover(self, site: Site) -> Discovery:
        """One discovery run of a site; never raises for what the network does."""
        started = utc_now()
        self.records.ensure_site(site.name, site_config(site), site.sources[0])
        run = Reading(site)
        scope = Scope(site.hosts, site.include, site.exclude)
        for host_url in site.sources:
            robots = await self.reader.robots(site, host_url, run)
            if robots.unknown:
                run.errors.append(robots.unknown)
        if run.errors:  # rules unknown: nothing may be read, nothing is decided
            return self._finish(site, run, started, None)
        known = self.records.pages(site.name)
        listing = Listing(frozenset(p.url for p in known if p.watched), room=site.max_pages)
        await self.reader.read(site, run, listing, scope)
        return await self._decide(site, run, scope, listing, known, started)

    # -- reading ----------------------------------------------------------------------

    # -- deciding ---------------------------------------------------------------------

    async def _decide(
        self,
        site: Site,
        run: Reading,
        scope: Scope,
        listing: Listing,
        known: list[Page],
        started: datetime,
    ) -> Discovery:
        fingerprint = scope.fingerprint(site.sources, site.max_pages)
        row = self.records.site(site.name) or {}
        baseline = not row.get("baselined") or row.get("scope") != fingerprint
        # Pages the rules (or robots.txt) no longer allow retire without an event.
        rescoped = row.get("scope") not in (None, "", fingerprint)
        retired = rescope(known, scope.contains) if rescoped else []
        retired += [
            replace(p, status=PageStatus.DISALLOWED)
            for p in known
            if p.watched and not self.reader.allowed(p.url) and p not in retired
        ]
        gone = {p.watch for p in retired}
        current = [p for p in known if p.watch not in gone]
        complete = not run.errors
        if complete:
            current = self._last_listed(site, current, listing.pages)
        checks, checked = await self._check_missing(site, current, listing.pages, complete)
        taken = self.records.taken_names()

        def name_for(url: str) -> str:
            covered = self.watched_urls.get(url)
            if covered is not None:
                return covered
            name = page_watch_name(site.name, url, taken)
            taken.add(name)
            return name

        settlement = settle(
            current,
            listing.pages,
            checks,
            complete=complete,
            baseline=baseline,
            max_pages=site.max_pages,
            name_for=name_for,
            run_capture=run.sources[0]["capture"],
        )
        decision = _Decision(
            settlement=settlement,
            pages=[*retired, *settlement.pages],
            listing=listing,
            checked=checked,
            baseline=baseline,
            fingerprint=fingerprint,
            known=known,
            old_scope=str(row.get("scope") or ""),
            was_baselined=bool(row.get("baselined")),
        )
        return self._finish(site, run, started, decision)

    def _last_listed(self, site: Site, pages: list[Page], listed: Mapping[str, int]) -> list[Page]:
        """Missing pages with, as the evidence that they were listed, the capture that
        listed them on the last complete run (read from its manifest, only when needed)."""
        if all(p.url in listed for p in pages if p.watched):
            return pages
        row = next((r for r in self.records.runs(site.name, 20) if r["complete"]), None)
        if row is None or not row["manifest_sha256"]:
            return pages
        manifest = json.loads(self.store.get_blob(row["manifest_sha256"]))
        last = {url: capture for url, capture in manifest["pages"]}
        return [
            replace(p, listed_capture=last.get(p.url, p.listed_capture))
            if p.watched and p.url not in listed
            else p
            for p in pages
        ]

    async def _check_missing(
        self, site: Site, pages: list[Page], listed: Mapping[str, int], complete: bool
    ) -> tuple[dict[str, DirectCheck], dict[str, CheckResult]]:
        """Check each page missing from a complete listing directly, as its watch."""
        if not complete:
            return {}, {}
        missing = [p for p in pages if p.watched and p.url not in listed]
        watches = [self.own.get(p.watch) or site.page_watch(p.watch, p.url) for p in missing]
        results = await asyncio.gather(*(self.checker.check(w) for w in watches))
        checks, checked = {}, {}
        for page, result in zip(missing, results, strict=True):
            checked[page.watch] = result
            final = None
            if result.capture_id is not None:
                row = self.store.capture(result.capture_id)
                final = canonical_url(row["final_url"]) if row["final_url"] else None
            checks[page.url] = DirectCheck(
                outcome=str(result.outcome),
                final_url=final,
                watch_gone=self.store.state(page.watch).status == WatchStatus.GONE,
                events=tuple(str(e) for e in result.events),
                capture=result.capture_id,
            )
        return checks, checked

    def _finish(
        self, site: Site, run: Reading, started: datetime, decision: _Decision | None
    ) -> Discovery:
        """Record the run (whole, in one transaction) and say what it found."""
        decided = decision or _Decision.nothing(self.records.site(site.name) or {})
        settlement = decided.settlement
        covered = set(self.watched_urls.values())
        events = [_site_event(site, e) for e in settlement.events]
        fresh = [p for p in settlement.added if p.watch not in covered]
        moved = [p for p in settlement.pages if p.watch in settlement.renamed]
        registered = [site.page_watch(p.watch, p.url) for p in [*fresh, *moved]]
        complete = not run.errors
        record = SiteRun(
            site=site.name,
            started_at=started,
            finished_at=utc_now(),
            complete=complete,
            baseline=decision is not None and decided.baseline,
            listed=len(decided.listing.pages),
            pages=decided.watched_after(),
            summary=_summary(decided, run),
            sources=run.sources,
            errors=run.errors,
            manifest_sha256=self._manifest(site, decided) if decision else None,
        )
        # A complete run sets the baseline for its scope; an incomplete one keeps the old.
        baselined = complete and decision is not None
        run_id, change_ids = self.records.record_run(
            record,
            decided.pages,
            events,
            [(w.name, w.url, watch_config(w)) for w in registered],
            scope=decided.fingerprint if baselined else decided.old_scope,
            baselined=baselined or decided.was_baselined,
        )
        return Discovery(
            site=site.name,
            run_id=run_id,
            complete=complete,
            baseline=record.baseline,
            listed=record.listed,
            pages=record.pages,
            summary=record.summary,
            errors=run.errors,
            events=[(str(e.draft.kind), e.watch, e.draft.detail["url"]) for e in events],
            change_ids=change_ids,
            added=[w for w in registered if w.name not in settlement.renamed],
            retired=[p.watch for p in decided.pages if not p.watched and p.watch not in covered],
            renamed=[w for w in registered if w.name in settlement.renamed],
            checked=decided.checked,
            crawl_delays=dict(run.crawl_delays),
        )

    def _manifest(self, site: Site, decided: _Decision) -> str:
        """The run's page list as a blob: identical lists are stored once."""
        body = {
            "site": site.name,
            "scope": decided.fingerprint,
            "pages": sorted([url, capture] for url, capture in decided.listing.pages.items()),
        }
        return self.store.put_blob(json.dumps(body, ensure_ascii=False).encode("utf-8"))


@dataclass(frozen=True)
class _Decision:
    """What a run decided, ready to be recorded."""

    settlement: Settlement
    pages: list[Page]  # page records new or changed by the run
    listing: Listing
    checked: dict[str, CheckResult]
    baseline: bool
    fingerprint: str
    known: list[Page]
    old_scope: str = ""
    was_baselined: bool = False

    @classmethod
    def nothing(cls, row: Mapping[str, Any]) -> _Decision:
        """A run that could read nothing (robots.txt unknown): it changes no page."""
        return cls(
            Settlement([], [], {}, []),
            [],
            Listing(frozenset(), 0),
            {},
            False,
            "",
            [],
            old_scope=str(row.get("scope") or ""),
            was_baselined=bool(row.get("baselined")),
        )

    def watched_after(self) -> int:
        records = {p.watch: p for p in self.known}
        records.update({p.watch: p for p in self.pages})
        return sum(p.watched for p in records.values())


def site_config(site: Site) -> dict[str, Any]:
    """A site's configuration as stored (and shown by ``monitor sites``)."""
    return {
        "sitemaps": list(site.sitemaps) if site.sitemaps is not None else None,
        "start": list(site.start),
        "include": list(site.include),
        "exclude": list(site.exclude),
        "max_pages": site.max_pages,
        "discover_every": site.discover_every_seconds,
        "every": site.template.every_seconds,
        "cron": site.template.cron,
    }


def _site_event(site: Site, event: Any) -> SiteEvent:
    kind = {
        "page_added": EventKind.PAGE_ADDED,
        "page_removed": EventKind.PAGE_REMOVED,
        "moved": EventKind.MOVED,
    }[event.kind]
    detail = {"site": site.name, "url": event.url, **event.detail}
    draft = EventDraft(kind, event.from_capture, event.to_capture, detail=detail)
    return SiteEvent(event.watch, draft)


def _summary(decided: _Decision, run: Reading) -> dict[str, int]:
    settlement = decided.settlement
    kinds = [e.kind for e in settlement.events]
    statuses = [p.status for p in decided.pages]
    return {
        "added": kinds.count("page_added"),
        "removed": kinds.count("page_removed"),
        "moved": len(settlement.renamed) + statuses.count(PageStatus.MOVED),
        "gone": statuses.count(PageStatus.GONE),
        "missing": settlement.waiting,
        "out_of_scope": statuses.count(PageStatus.OUT_OF_SCOPE),
        "disallowed": run.disallowed + statuses.count(PageStatus.DISALLOWED),
        "left_out": settlement.over_limit + decided.listing.left_out,
    }
