"""Site discovery at scale: a 20,000-page site on 127.0.0.1, read through a sitemap index
of gzip child sitemaps; time and peak memory of a discovery run, and of scheduling every
page in ``monitor run`` (APScheduler jobs).

    python benchmarks/sites_bench.py [--pages 20000] [--children 4]

Runs: 1. the baseline (every page becomes a watch); 2. an unchanged listing; 3. a listing
with 1% of the pages renamed (each old URL 301 -> new, checked directly) and 1% new.
Memory is Python's own allocations (tracemalloc peak) during the run, and the process's
resident set before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "sites"))

from docsite import DocSite, serve

from monitor.config.watchlist import loads_watchlist
from monitor.run.once import site_watches
from monitor.store import open_store


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def publish(site: DocSite, paths: list[str], children: int) -> None:
    size = -(-len(paths) // children)
    index = []
    for number in range(children):
        chunk = paths[number * size : (number + 1) * size]
        entries = "".join(f"<url><loc>{site.base}{p}</loc></url>" for p in chunk)
        xml = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
        site.set(f"/sitemaps/{number}.xml.gz", gzip.compress(xml.encode()), "application/gzip")
        index.append(f"<sitemap><loc>{site.base}/sitemaps/{number}.xml.gz</loc></sitemap>")
    site.set(
        "/sitemap_index.xml",
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(index)
        + "</sitemapindex>",
        "application/xml",
    )


WATCHLIST = """\
settings: {{host_delay: 0, retries: 0, max_connections: 16, per_host: 8}}
sites:
  - name: big
    sitemap: {base}/sitemap_index.xml
    max_pages: {pages}
    every: 1d
"""


def discover_only(data: Path, watchlist, label: str) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    # Discovery plus the direct checks of missing pages; the site's pages themselves are
    # not checked here (names=[site] would check them all).
    from monitor.check import check_session, thresholds
    from monitor.fetch.http import FetchPolicy
    from monitor.sites.discover import Discoverer

    async def run():
        with open_store(data) as store:
            policy = FetchPolicy.from_settings(watchlist.settings)
            async with check_session(store, policy, thresholds(watchlist.settings)) as checker:
                discoverer = Discoverer(store, checker.fetcher, checker, watchlist.watches)
                return await discoverer.discover(watchlist.sites[0])

    found = asyncio.run(run())
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{label:<28} {elapsed:7.2f} s  peak {peak / 2**20:6.1f} MB  rss {rss_mb():6.0f} MB  "
        f"pages {found.pages}  events {len(found.events)}  {found.summary}"
    )


def schedule_all(data: Path, watchlist) -> None:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from monitor.run.scheduler import trigger_for
    from monitor.run.sites import spread_start

    with open_store(data) as store:
        watches = site_watches(store, watchlist.sites[0])
    tracemalloc.start()
    started = time.perf_counter()
    scheduler = AsyncIOScheduler(timezone=UTC)
    now = datetime.now(UTC)
    starts = []

    async def job() -> None:
        pass

    for watch in watches:
        start = spread_start(watch, None, now)
        starts.append(start)
        scheduler.add_job(job, trigger_for(watch), id=watch.name, next_run_time=start)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    seconds = sorted((s - now).total_seconds() for s in starts)
    per_minute = max(sum(1 for s in seconds if m * 60 <= s < (m + 1) * 60) for m in range(24 * 60))
    print(
        f"{'schedule every page':<28} {elapsed:7.2f} s  peak {peak / 2**20:6.1f} MB  "
        f"{len(watches)} jobs, first checks spread over {seconds[-1] / 3600:.1f} h, "
        f"busiest minute {per_minute} (even: {len(watches) / 1440:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=20000)
    parser.add_argument("--children", type=int, default=4)
    args = parser.parse_args()
    with serve(DocSite()) as site, tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        paths = [f"/docs/page-{i:05d}.html" for i in range(args.pages)]
        for path in paths:
            site.set(path, f"<main><h1>{path}</h1><p>text</p></main>")
        publish(site, paths, args.children)
        watchlist = loads_watchlist(WATCHLIST.format(base=site.base, pages=args.pages + 500))
        print(f"rss at start {rss_mb():.0f} MB; {args.pages} pages in {args.children} sitemaps")
        discover_only(data, watchlist, "1. baseline")
        discover_only(data, watchlist, "2. same listing")
        step = 100
        renamed = paths[::step]
        for old in renamed:
            new = old.replace("page-", "renamed-")
            site.set(new, f"<main><h1>{new}</h1><p>text</p></main>")
            site.redirect(old, new)
        listing = [p.replace("page-", "renamed-") if p in set(renamed) else p for p in paths]
        added = [f"/docs/new-{i:05d}.html" for i in range(len(renamed))]
        for path in added:
            site.set(path, "<main><p>new</p></main>")
        publish(site, listing + added, args.children)
        discover_only(data, watchlist, f"3. {len(renamed)} renamed, {len(added)} new")
        schedule_all(data, watchlist)


if __name__ == "__main__":
    main()
