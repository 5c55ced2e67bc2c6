"""Sites in ``monitor run``: a discovery job per site, a job per site page, and the
language versions compared after each check of one of them.

A site's pages are spread over their interval, not bunched: each page's first check
(at start-up, or when discovery adds it) falls at a fixed point of its interval given
by a hash of its name, so 20,000 pages checked daily start about one every 4.3 s, and
a restart keeps the rhythm. The fetcher's per-host limits hold across the whole site
(one fetcher serves every job of the run).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.interval import IntervalTrigger

from ..check import CheckResult
from ..config.sites import Site
from ..config.watchlist import Watch, Watchlist
from ..sites.counterparts import compare_all
from ..sites.discover import Discoverer, Discovery
from ..store.base import EvidenceStore
from .once import site_watches
from .scheduler import Runner

log = logging.getLogger(__name__)

CRON_JITTER_SECONDS = 900  # site pages on a cron schedule fire within 15 minutes of it


def spread_start(watch: Watch, last_check: datetime | None, now: datetime) -> datetime | None:
    """A site page's first check: one interval after its last, or at its own point of
    the interval (a hash of its name) when it is new or overdue.

    >>> now = datetime(2026, 1, 1, tzinfo=UTC)
    >>> w = Watch("s.a", "https://x/a", every_seconds=86400)
    >>> spread_start(w, now - timedelta(hours=1), now) == now + timedelta(hours=23)
    True
    >>> now <= spread_start(w, None, now) < now + timedelta(days=1)
    True
    """
    if watch.cron:
        return None
    every = float(watch.every_seconds or 21600)
    if last_check is not None and last_check + timedelta(seconds=every) > now:
        return last_check + timedelta(seconds=every)
    digest = int(hashlib.sha256(watch.name.encode("utf-8")).hexdigest()[:12], 16)
    return now + timedelta(seconds=digest % max(int(every), 1))


class SiteJobs:
    """The Runner extension that keeps sites discovered and their pages checked."""

    def __init__(
        self,
        store: EvidenceStore,
        watchlist: Watchlist,
        discoverer: Discoverer,
        echo: Callable[[str], None] = lambda _: None,
        on_discovery: Callable[[Discovery], None] = lambda _: None,
    ) -> None:
        self.store = store
        self.watchlist = watchlist
        self.discoverer = discoverer
        self.echo = echo
        self.on_discovery = on_discovery
        self.runner: Runner | None = None
        self._yaml_members = {w for c in watchlist.counterparts for _, w in c.versions}
        self._site_members = {s for c in watchlist.counterparts for _, s in c.sites}

    def schedule(self, runner: Runner, last_checks: Mapping[str, datetime]) -> None:
        self.runner = runner
        assert runner.scheduler is not None
        now = datetime.now(UTC)
        covered = set(self.watchlist.names)
        for site in self.watchlist.sites:
            every = site.discover_every_seconds
            last = last_checks.get(site.name)
            start = (
                last + timedelta(seconds=every)
                if last is not None and last + timedelta(seconds=every) > now
                else now + timedelta(seconds=min(runner.startup_spread, every) * 0.1)
            )
            runner.scheduler.add_job(
                self._discover,
                IntervalTrigger(seconds=every, timezone=UTC),
                args=[site],
                id=f"site:{site.name}",
                name=f"discover {site.name}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                next_run_time=start,
            )
            for watch in site_watches(self.store, site, covered):
                self._add(watch, last_checks.get(watch.name), now)

    def _add(self, watch: Watch, last_check: datetime | None, now: datetime) -> None:
        assert self.runner is not None
        self.runner.add_watch(watch, spread_start(watch, last_check, now))
        if watch.cron and self.runner.scheduler is not None:
            job = self.runner.scheduler.get_job(watch.name)
            if job is not None:
                job.trigger.jitter = CRON_JITTER_SECONDS  # type: ignore[attr-defined]

    async def _discover(self, site: Site) -> None:
        assert self.runner is not None
        if self.runner.stopping.is_set():
            return
        try:
            found: Discovery = await self.runner.guarded(self.discoverer.discover(site))
        except Exception:  # a bug must not stop the run; logged and retried next time
            log.exception("discovering %s failed", site.name)
            return
        now = datetime.now(UTC)
        for watch in found.added:
            self._add(watch, None, now)
        for watch in found.renamed:  # same name, new URL: the job follows the page
            self._add(watch, now, now)
        for name in found.retired:
            self.runner.remove_watch(name)
        for result in found.checked.values():
            self.after_check(result)
        self.on_discovery(found)
        if found.added:
            self.echo(
                f"site {site.name}: {len(found.added)} new page watch(es), first checks spread "
                f"over their interval"
            )

    def after_check(self, result: CheckResult) -> None:
        """Compare the language versions a checked watch belongs to."""
        if not self._is_member(result.watch):
            return
        try:
            for report in compare_all(self.store, self.watchlist, [result.watch]):
                for change in report.changes:
                    self.echo(
                        f"locale_gap {change.state}: {report.counterparts} {change.gap.group}"
                    )
        except Exception:
            log.exception("comparing the language versions of %s failed", result.watch)

    def _is_member(self, watch: str) -> bool:
        if watch in self._yaml_members:
            return True
        if not self._site_members:
            return False
        page = self.store.sites().page_of(watch)
        return page is not None and page[0] in self._site_members
