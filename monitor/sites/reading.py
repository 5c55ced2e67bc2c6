"""Reading a site's sources: robots.txt, sitemaps and start pages, each fetched by
monitor's fetcher and kept as a capture of the site (raw bytes, and as its text the
URLs it lists), and the in-scope pages they list, collected in bounded memory.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..config.secrets import SecretError
from ..config.sites import Site
from ..documents.document import Block, Document
from ..fetch.http import HttpFetcher
from ..model import Capture, ErrorClass, Outcome
from ..store.base import CaptureRecord, EvidenceStore
from .links import page_links
from .robots import Robots, robots_from_response, robots_url
from .scope import Scope, canonical_url
from .sitemaps import parse_sitemap

MAX_SITEMAP_DEPTH = 5  # sitemap indexes nested deeper than this are not followed
MAX_SITEMAPS = 2000  # sitemap files read in one run
MAX_OTHER_HOSTS = 20  # hosts besides the sources' whose robots.txt a run may read
ROBOTS_MAX_AGE = 3600.0  # seconds a robots.txt read is reused (sites sharing a host)


@dataclass
class Listing:
    """The pages a run's sources list, bounded: known pages and up to ``room`` new ones."""

    known: frozenset[str]
    room: int
    pages: dict[str, int] = field(default_factory=dict)  # url -> capture of its source
    new: int = 0
    left_out: int = 0  # new pages not remembered (over the limit; may count repeats)

    def add(self, url: str, capture: int) -> None:
        if url in self.pages:
            return
        if url not in self.known:
            if self.new >= self.room:
                self.left_out += 1
                return
            self.new += 1
        self.pages[url] = capture


@dataclass
class Reading:
    """What a run has read so far."""

    site: Site
    sources: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    disallowed: int = 0
    out_of_scope: int = 0
    crawl_delays: dict[str, float] = field(default_factory=dict)
    other_hosts: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def offer_all(
        self,
        urls: Sequence[str],
        capture: int,
        listing: Listing,
        scope: Scope,
        allowed: Callable[[str], bool],
    ) -> None:
        hosts = set(self.site.hosts)
        for raw in urls:
            url = canonical_url(raw)
            if url is None or not scope.contains(url):
                self.out_of_scope += 1
                continue
            host = urlsplit(url).netloc
            if host not in hosts:
                pending = self.other_hosts.setdefault(host, [])
                if len(pending) < listing.room + len(listing.known):
                    pending.append((url, capture))
                continue
            if allowed(url):
                listing.add(url, capture)
            else:
                self.disallowed += 1


class SiteReader:
    """Reads sources for discovery runs, with one fetcher; robots.txt read once per host."""

    def __init__(self, store: EvidenceStore, fetcher: HttpFetcher) -> None:
        self.store = store
        self.fetcher = fetcher
        # robots.txt URL -> (rules, when read, its source entry); read again after an hour
        self._robots: dict[str, tuple[Robots, float, dict[str, Any]]] = {}

    async def read(self, site: Site, run: Reading, listing: Listing, scope: Scope) -> None:
        """Read every source of a site into ``listing`` (errors go to ``run.errors``)."""
        await self._read_sitemaps(site, run, listing, scope)
        await self._read_start_pages(site, run, listing, scope)
        await self._check_other_hosts(site, run, listing)

    async def robots(self, site: Site, url: str, run: Reading) -> Robots:
        """The robots.txt rules governing a URL (fetched and recorded once per host)."""
        return await self._robots_for(site, url, run)

    def allowed(self, url: str) -> bool:
        """Whether robots.txt (already read for the URL's host) lets monitor fetch it."""
        return self._allowed(url)

    async def _robots_for(self, site: Site, url: str, run: Reading) -> Robots:
        where = robots_url(url)
        host = urlsplit(where).netloc
        cached = self._robots.get(where)
        if cached is not None and time.monotonic() - cached[1] < ROBOTS_MAX_AGE:
            robots, _, source = cached
            if source not in run.sources:
                run.sources.append(source)  # this run relied on it: the same capture
        else:
            capture = await self.fetcher.fetch(where)
            self._record(site, capture, run, "robots.txt", [])
            robots = robots_from_response(where, capture.status, capture.body, capture.error)
            self._robots[where] = (robots, time.monotonic(), run.sources[-1])
        delay = robots.crawl_delay
        if delay:
            self.fetcher.set_host_delay(host, delay)
            run.crawl_delays[host] = delay
        return robots

    def _allowed(self, url: str) -> bool:
        cached = self._robots.get(robots_url(url))
        return cached is not None and cached[0].allows(url)

    async def _read_sitemaps(
        self, site: Site, run: Reading, listing: Listing, scope: Scope
    ) -> None:
        roots = list(site.sitemaps) if site.sitemaps is not None else []
        if site.sitemaps is None:
            for url in site.start:
                roots += self._robots[robots_url(url)][0].sitemaps
        queue = deque((url, 0) for url in dict.fromkeys(roots))
        seen: set[str] = set()
        while queue:
            url, depth = queue.popleft()
            if url in seen:
                continue
            seen.add(url)
            if len(seen) > MAX_SITEMAPS:
                run.errors.append(f"more than {MAX_SITEMAPS} sitemap files; the rest not read")
                break
            if url.endswith("/robots.txt"):  # a robots.txt given as a sitemap: its sitemaps
                robots = await self._robots_for(site, url, run)
                queue.extend((child, depth + 1) for child in robots.sitemaps)
                continue
            capture = await self.fetcher.fetch(url)
            if capture.status != 200:
                self._record(site, capture, run, "sitemap", [])
                run.errors.append(f"sitemap {url}: {_failure(capture)}")
                continue
            parsed = parse_sitemap(
                capture.final_url or url, capture.body, capture.header("content-type")
            )
            capture_id = self._record(
                site, capture, run, "sitemap", [*parsed.sitemaps, *parsed.pages]
            )
            if not parsed.complete:
                run.errors.append(f"sitemap {url}: {parsed.error or 'not a sitemap'}")
            for child in parsed.sitemaps:
                if depth + 1 > MAX_SITEMAP_DEPTH:
                    run.errors.append(f"sitemap {child}: nested deeper than {MAX_SITEMAP_DEPTH}")
                else:
                    queue.append((child, depth + 1))
            run.offer_all(parsed.pages, capture_id, listing, scope, self._allowed)

    async def _read_start_pages(
        self, site: Site, run: Reading, listing: Listing, scope: Scope
    ) -> None:
        try:
            headers = site.template.request_headers()  # secrets from the environment, now
        except SecretError as error:
            run.errors.append(f"start pages not read: {error}")
            return
        for url in site.start:
            if not self._allowed(url):
                run.errors.append(f"start page {url} is disallowed by robots.txt; not read")
                continue
            capture = await self.fetcher.fetch(url, headers)
            if capture.status != 200:
                self._record(site, capture, run, "start page", [])
                run.errors.append(f"start page {url}: {_failure(capture)}")
                continue
            try:
                links = page_links(
                    capture.body, capture.final_url or url, capture.header("content-type")
                )
            except ValueError as error:
                self._record(site, capture, run, "start page", [])
                run.errors.append(f"start page {url}: {error}")
                continue
            capture_id = self._record(site, capture, run, "start page", links)
            run.offer_all(links, capture_id, listing, scope, self._allowed)

    async def _check_other_hosts(self, site: Site, run: Reading, listing: Listing) -> None:
        """Pages on hosts whose robots.txt was not read yet (include patterns may allow
        other hosts): read it, then keep the pages it allows."""
        for pending in list(run.other_hosts.values())[:MAX_OTHER_HOSTS]:
            robots = await self._robots_for(site, pending[0][0], run)
            if robots.unknown:
                run.errors.append(robots.unknown)
                continue
            for url, capture in pending:
                if robots.allows(url):
                    listing.add(url, capture)
                else:
                    run.disallowed += 1
        if len(run.other_hosts) > MAX_OTHER_HOSTS:
            run.errors.append(f"pages on more than {MAX_OTHER_HOSTS} other hosts; some not read")

    def _record(
        self, site: Site, capture: Capture, run: Reading, kind: str, urls: Sequence[str]
    ) -> int:
        """Keep a source's raw bytes and the URLs it lists (as its text) as a capture."""
        body_sha = self.store.put_blob(capture.body) if capture.status is not None else None
        text_sha = None
        if urls:
            listed = Document(
                f"{kind} {capture.url}", tuple(Block("item", u, (kind,)) for u in urls)
            )
            text_sha = self.store.put_blob(listed.to_json().encode("utf-8"))
        record = CaptureRecord(
            watch=site.name,
            url=capture.url,
            fetched_at=capture.fetched_at,
            outcome=_outcome(capture),
            status=capture.status,
            final_url=capture.final_url,
            headers=capture.headers,
            redirects=capture.redirects,
            body_sha256=body_sha,
            body_size=len(capture.body) if body_sha else None,
            text_sha256=text_sha,
            elapsed_ms=round(capture.elapsed * 1000),
            attempts=capture.attempts,
            error_class=capture.error_class,
            error=capture.error,
        )
        with self.store.recording() as writer:
            capture_id = writer.add_capture(record)
        run.sources.append(
            {
                "kind": kind,
                "url": capture.url,
                "capture": capture_id,
                "status": capture.status,
                "sha256": body_sha,
                "urls": len(urls),
            }
        )
        return capture_id


def _outcome(capture: Capture) -> Outcome:
    if capture.status is None:
        return Outcome.TRANSIENT if capture.error_class == ErrorClass.TRANSIENT else Outcome.ERROR
    if capture.status in (404, 410):
        return Outcome.GONE
    return Outcome.OK if 200 <= capture.status < 300 else Outcome.ERROR


def _failure(capture: Capture) -> str:
    if capture.status is None:
        return capture.error or "no answer"
    return f"HTTP {capture.status}"
