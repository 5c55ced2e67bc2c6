"""Checking a large watchlist on several cores: watches sharded across processes.

One check process is bound by Python's GIL (HTTP handling, extraction, diff). With
``monitor check --workers N`` the watches are split into N shards, each checked by its
own process with its own fetcher, all writing to the same store (SQLite in WAL mode
serialises the short write transactions; blobs are write-once files).

Politeness is kept for the run as a whole, not per process: the connection limit is
divided between workers, and a host's per-host limit is either divided (with the
request spacing multiplied) or, when it is too small to divide, the host's watches all
go to one worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import multiprocessing
import signal
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from urllib.parse import urlsplit

from ..analysis.events import Thresholds
from ..check import CheckResult, check_session
from ..config.settings import WitnessPolicy
from ..config.watchlist import Watch
from ..fetch.http import FetchPolicy
from ..store import EvidenceStore, StoreSpec, open_store, open_stores

_PR_SET_PDEATHSIG = 1


def plan_shards(
    watches: Sequence[Watch], policy: FetchPolicy, workers: int
) -> tuple[list[list[Watch]], FetchPolicy]:
    """Split watches between workers and give each worker its share of the limits.

    >>> ws = [Watch(name=f"w{i}", url=f"https://a.example/{i}") for i in range(4)]
    >>> shards, share = plan_shards(ws, FetchPolicy(max_connections=8, per_host=4,
    ...                                               host_delay=0.5), 2)
    >>> [len(s) for s in shards], share.max_connections, share.per_host, share.host_delay
    ([2, 2], 4, 2, 1.0)
    >>> shards, share = plan_shards(ws, FetchPolicy(per_host=1), 2)  # can't divide 1
    >>> [len(s) for s in shards], share.per_host
    ([4, 0], 1)
    """
    workers = max(1, min(workers, len(watches)))
    connections = max(1, policy.max_connections // workers)
    if policy.per_host >= workers:
        size = -(-len(watches) // workers)  # contiguous runs: no stride aliasing
        shards = [list(watches[i : i + size]) for i in range(0, len(watches), size)]
        share = dataclasses.replace(
            policy,
            max_connections=connections,
            per_host=policy.per_host // workers,
            host_delay=policy.host_delay * workers,
            host_delays=tuple((host, delay * workers) for host, delay in policy.host_delays),
        )
        return shards, share
    shards = [[] for _ in range(workers)]
    by_host: dict[str, list[Watch]] = defaultdict(list)
    for watch in watches:
        by_host[urlsplit(watch.url).netloc.lower()].append(watch)
    for group in sorted(by_host.values(), key=len, reverse=True):
        min(shards, key=len).extend(group)  # each host stays with one worker
    return shards, dataclasses.replace(policy, max_connections=connections)


def _die_with_parent() -> None:
    """Linux: a worker is killed when its parent dies (a killed `monitor check`)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


def can_fork() -> bool:
    """Could workers start now by forking (cheap), rather than spawning (~0.45 s each)?"""
    return _start_method() == "fork"


def _start_method() -> str:
    """``fork`` where it is safe, else ``spawn``.

    A spawned worker imports monitor and its libraries again: 0.45 s each, a sixth of a
    2,000-page run with nothing changed. A forked one inherits them. Forking is safe
    only with no other thread running (one could hold a lock the child then waits on
    for ever) and no store open (SQLite's lock bookkeeping would be inherited, see
    :func:`open_stores`); anything else spawns.
    """
    if sys.platform.startswith("linux") and threading.active_count() == 1 and not open_stores():
        return "fork"
    return "spawn"


def _check_shard(
    data_dir: str | StoreSpec,
    watches: list[Watch],
    policy: FetchPolicy,
    thresholds: Thresholds,
    witness: WitnessPolicy | None = None,
) -> list[CheckResult]:
    async def run(store: EvidenceStore) -> list[CheckResult]:
        async with check_session(store, policy, thresholds, witness) as checker:
            return await checker.check_all(watches)

    with open_store(data_dir) as store:
        return asyncio.run(run(store))


def check_in_processes(
    data_dir: str | StoreSpec,
    watches: Sequence[Watch],
    policy: FetchPolicy,
    thresholds: Thresholds,
    workers: int,
    witness: WitnessPolicy | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> list[CheckResult]:
    """Check every watch once using ``workers`` processes; results in watch order.

    ``meanwhile`` runs in this process once the workers are started (forked: never
    before, a thread or a half-done import must not be copied into them).
    """
    shards, share = plan_shards(watches, policy, workers)
    shards = [shard for shard in shards if shard]
    context = multiprocessing.get_context(_start_method())
    with ProcessPoolExecutor(len(shards), mp_context=context, initializer=_die_with_parent) as pool:
        futures = [
            pool.submit(_check_shard, data_dir, shard, share, thresholds, witness)
            for shard in shards
        ]
        try:
            if meanwhile is not None:
                meanwhile()
            results = {r.watch: r for future in futures for r in future.result()}
        except KeyboardInterrupt:
            _stop_workers(pool)
            raise
    return [results[watch.name] for watch in watches]


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Ctrl-C: end the workers now, as SIGTERM to ``monitor check`` does (they die with
    it). Leaving the pool would wait for every shard to be checked to its end."""
    for process in list(getattr(pool, "_processes", {}).values()):  # no public API (3.14)
        with contextlib.suppress(OSError):
            process.terminate()
