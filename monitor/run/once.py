"""Check a watchlist once, now: the orchestration behind ``monitor check``.

Anything (the command line, the demo, tests, benchmarks) checks watches through
:func:`check_once`, so the fetch policy, thresholds and worker count are decided in
one place.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

from ..check import CheckResult, run_checks, thresholds, watch_config
from ..config.watchlist import Watch, Watchlist
from ..fetch.http import FetchPolicy
from ..model import Outcome
from ..store import open_store
from .lock import checking_lock

# Measured: a worker process costs ~0.5 s to start and pays off past ~200 pages.
_PARALLEL_FROM = 200
_MAX_DEFAULT_WORKERS = 4


def default_workers(watch_count: int) -> int:
    """One process below 200 watches; else one per CPU, at most 4.

    >>> default_workers(50), default_workers(2000) >= 1
    (1, True)
    """
    if watch_count < _PARALLEL_FROM:
        return 1
    return max(1, min(os.cpu_count() or 1, _MAX_DEFAULT_WORKERS))


def check_once(
    location: str,
    watchlist: Watchlist,
    watches: Sequence[Watch],
    workers: int = 0,
    policy: FetchPolicy | None = None,
) -> list[CheckResult]:
    """Check ``watches`` once against the store at ``location``; results in watch order."""
    with checking_lock(location, "check"):
        return _check_once(location, watchlist, watches, workers, policy)


def _check_once(
    location: str,
    watchlist: Watchlist,
    watches: Sequence[Watch],
    workers: int,
    policy: FetchPolicy | None,
) -> list[CheckResult]:
    from ..evidence.service import make_checkpoint  # cryptography: only when checking

    policy = policy or FetchPolicy.from_settings(watchlist.settings)
    workers = workers or default_workers(len(watches))
    if workers > 1:
        from .workers import check_in_processes

        with open_store(location) as store:
            store.ensure_watches([(w.name, w.url, watch_config(w)) for w in watches])
            where = store.location
        # The store is closed before the workers start, so they can be forked (workers.py).
        results = check_in_processes(
            where, watches, policy, thresholds(watchlist.settings), workers
        )
        with open_store(location) as store:
            make_checkpoint(store, authority=watchlist.settings.timestamp_authority)
        return results
    with open_store(location) as store:
        results = asyncio.run(run_checks(store, watchlist, watches, policy))
        # Every check ends with a signed checkpoint (docs/evidence.md).
        make_checkpoint(store, authority=watchlist.settings.timestamp_authority)
        return results


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
