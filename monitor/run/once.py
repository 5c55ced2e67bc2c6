"""Check a watchlist once, now: the orchestration behind ``monitor check``.

Anything (the command line, the demo, tests, benchmarks) checks watches through
:func:`check_once`, so the fetch policy, thresholds and worker count are decided in
one place.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..check import CheckResult, check_session, run_checks, thresholds, watch_config
from ..config.sites import Site
from ..config.watchlist import Watch, Watchlist
from ..fetch.http import FetchPolicy, HttpFetcher
from ..model import Outcome
from ..store import StoreSpec, open_store
from ..store.base import EvidenceStore
from .lock import checking_lock

if TYPE_CHECKING:  # imported when a watchlist has sites or counterparts (start-up cost)
    from ..sites.counterparts import GapReport
    from ..sites.discover import Discovery

# Measured: a worker process costs ~0.5 s to start and pays off past ~200 pages. Forked
# (the usual case, workers.py) it costs a few milliseconds, and pages never captured
# before are each parsed in full (~9 ms of CPU): from 16 of them, two cores pay off
# (a first capture of 20 pages: 0.42 -> 0.38 s; unchanged, 20 pages are faster alone).
_PARALLEL_FROM = 200
_PARALLEL_NEW_FROM = 16
_MAX_DEFAULT_WORKERS = 4


def default_workers(watch_count: int, new_count: int = 0, can_fork: bool = False) -> int:
    """One process below 200 watches, unless 16 or more of them are new (never captured)
    and workers can be forked; else one per CPU, at most 4.

    >>> default_workers(50), default_workers(2000) >= 1
    (1, True)
    >>> default_workers(20, new_count=20), default_workers(20, 20, can_fork=True) >= 1
    (1, True)
    """
    parallel = watch_count >= _PARALLEL_FROM or (can_fork and new_count >= _PARALLEL_NEW_FROM)
    if not parallel:
        return 1
    return max(1, min(os.cpu_count() or 1, _MAX_DEFAULT_WORKERS))


def _workers_for(location: StoreSpec, watches: Sequence[Watch]) -> int:
    """The default number of processes for checking these watches now."""
    if len(watches) >= _PARALLEL_FROM or len(watches) < _PARALLEL_NEW_FROM:
        return default_workers(len(watches))
    from .workers import can_fork

    if not can_fork():
        return 1
    with open_store(location) as store:  # a state read per watch: under 200 of them
        new = sum(store.state(w.name).reference is None for w in watches)
    return default_workers(len(watches), new, can_fork=True)


def check_once(
    location: str | StoreSpec,
    watchlist: Watchlist,
    watches: Sequence[Watch],
    workers: int = 0,
    policy: FetchPolicy | None = None,
) -> list[CheckResult]:
    """Check ``watches`` once against the store at ``location``; results in watch order.

    A data directory is checked by one process at a time (lock.py); a PostgreSQL store
    serialises concurrent checks of a watch itself.
    """
    spec = location if isinstance(location, StoreSpec) else StoreSpec(os.fspath(location))
    if spec.postgres:
        return _check_once(spec, watchlist, watches, workers, policy)
    with checking_lock(spec.location, "check"):
        return _check_once(spec, watchlist, watches, workers, policy)


def _check_once(
    location: StoreSpec,
    watchlist: Watchlist,
    watches: Sequence[Watch],
    workers: int,
    policy: FetchPolicy | None,
) -> list[CheckResult]:
    policy = policy or FetchPolicy.from_settings(watchlist.settings)
    workers = workers or _workers_for(location, watches)
    if workers > 1:
        from .workers import check_in_processes

        with open_store(location) as store:
            store.ensure_watches([(w.name, w.url, watch_config(w)) for w in watches])
        # The store is closed before the workers start, so they can be forked (workers.py).
        settings = watchlist.settings
        results = check_in_processes(
            location,
            watches,
            policy,
            thresholds(settings),
            workers,
            settings.witness_policy,
            meanwhile=_signing,  # imported while the workers check, not before
        )
        with open_store(location) as store:
            _signing()(store, authority=watchlist.settings.timestamp_authority)
    else:
        with open_store(location) as store:
            results = asyncio.run(run_checks(store, watchlist, watches, policy))
            # Every check ends with a signed checkpoint (docs/evidence.md).
            _signing()(store, authority=watchlist.settings.timestamp_authority)
    # The search index is derived data, built when something reads it: 'monitor search',
    # 'monitor serve' and 'monitor run' catch up (monitor/search/index.py). Indexing here
    # cost a first capture of 200 pages 3.5 of its 5.4 s (benchmarks/README.md).
    return results


def _signing() -> Callable[..., object]:
    """The checkpoint signer (cryptography: about 0.01 s to import, only when checking)."""
    from ..evidence.service import make_checkpoint

    return make_checkpoint


def summarize(results: Sequence[CheckResult]) -> str:
    """One line for a batch of checks.

    >>> from monitor.model import EventKind, Outcome
    >>> summarize([CheckResult("a", Outcome.OK, events=(EventKind.CHANGED,), flagged=True),
    ...            CheckResult("b", Outcome.TRANSIENT)])
    'checked 2, changed 1, flagged 1, failed 1'
    """
    counts = summary(results)
    return ", ".join(f"{key} {value}" for key, value in counts.items())


def summary(results: Sequence[CheckResult]) -> dict[str, int]:
    """The counts of a batch of checks (the ``summary`` of ``check --format json``)."""
    return {
        "checked": len(results),
        "changed": sum(r.changed for r in results),
        "flagged": sum(r.flagged for r in results),
        "failed": sum(Outcome(r.outcome).failed for r in results),
    }


@dataclass
class RunReport:
    """What checking a watchlist once did: discovery runs, checks, locale gaps."""

    results: list[CheckResult]
    discoveries: list[Discovery] = field(default_factory=list)
    gaps: list[GapReport] = field(default_factory=list)


def check_watchlist(
    location: str | StoreSpec,
    watchlist: Watchlist,
    names: Sequence[str] = (),
    workers: int = 0,
    policy: FetchPolicy | None = None,
) -> RunReport:
    """Check a watchlist once: discover its sites, check every watch and site page, and
    compare the language versions.

    ``names`` picks watches, sites (discovered, and their pages checked) and site pages
    (by their watch names); none means everything.
    """
    spec = location if isinstance(location, StoreSpec) else StoreSpec(os.fspath(location))
    if spec.postgres:
        return _check_watchlist(spec, watchlist, names, workers, policy)
    with checking_lock(spec.location, "check"):
        return _check_watchlist(spec, watchlist, names, workers, policy)


def _check_watchlist(
    location: StoreSpec,
    watchlist: Watchlist,
    names: Sequence[str],
    workers: int,
    policy: FetchPolicy | None,
) -> RunReport:
    policy = policy or FetchPolicy.from_settings(watchlist.settings)
    with open_store(location) as store:
        watches, sites, pages = select(watchlist, names, store)
        discoveries, checked = asyncio.run(_discover(store, watchlist, sites, policy))
        for discovery in discoveries:
            policy = _with_delays(policy, discovery.crawl_delays)
        covered = set(watchlist.names)
        for site in sites:
            pages += site_watches(store, site, covered)
    todo = list(dict.fromkeys([*watches, *pages]))
    todo = [w for w in todo if w.name not in checked]
    results = [*checked.values(), *_check_once(location, watchlist, todo, workers, policy)]
    gaps: list[GapReport] = []
    if watchlist.counterparts:
        from ..sites.counterparts import compare_all

        with open_store(location) as store:
            names_checked = None if not names else [r.watch for r in results]
            gaps = compare_all(store, watchlist, names_checked)
    return RunReport(results, discoveries, gaps)


async def _discover(
    store: EvidenceStore, watchlist: Watchlist, sites: Sequence[Site], policy: FetchPolicy
) -> tuple[list[Discovery], dict[str, CheckResult]]:
    if not sites:
        return [], {}
    from ..sites.discover import Discoverer

    async with check_session(store, policy, thresholds(watchlist.settings)) as checker:
        assert isinstance(checker.fetcher, HttpFetcher)
        discoverer = Discoverer(store, checker.fetcher, checker, watchlist.watches)
        found = [await discoverer.discover(site) for site in sites]
    checked = {name: r for d in found for name, r in d.checked.items()}
    return found, checked


def select(
    watchlist: Watchlist, names: Sequence[str], store: EvidenceStore
) -> tuple[list[Watch], list[Site], list[Watch]]:
    """Watches, sites and site pages named (all watches and sites when none is)."""
    if not names:
        return list(watchlist.watches), list(watchlist.sites), []
    watches: list[Watch] = []
    sites: list[Site] = []
    pages: list[Watch] = []
    unknown: list[str] = []
    for name in dict.fromkeys(names):
        site = watchlist.site(name)
        if name in watchlist.names:
            watches.extend(watchlist.select([name]))
        elif site is not None:
            sites.append(site)
        else:
            page = store.sites().page_of(name)
            owner = watchlist.site(page[0]) if page else None
            if page is None or owner is None:
                unknown.append(name)
            else:
                pages.append(owner.page_watch(page[1].watch, page[1].url))
    if unknown:
        watchlist.select(unknown)  # raises the usual error, with suggestions
    return watches, sites, pages


def site_watches(
    store: EvidenceStore, site: Site, covered: frozenset[str] | set[str] = frozenset()
) -> list[Watch]:
    """The watches of a site's pages (those a watchlist watch already follows left out)."""
    return [
        site.page_watch(p.watch, p.url)
        for p in store.sites().pages(site.name)
        if p.watched and p.watch not in covered
    ]


def _with_delays(policy: FetchPolicy, delays: dict[str, float]) -> FetchPolicy:
    merged = dict(policy.host_delays)
    for host, delay in delays.items():
        merged[host] = max(delay, merged.get(host, 0.0))
    return dataclasses.replace(policy, host_delays=tuple(sorted(merged.items())))
