"""Distributed checking on procrastinate, a job queue in the same PostgreSQL as the store.

No scheduler of our own: procrastinate claims jobs with ``FOR UPDATE SKIP LOCKED``,
runs them on any number of workers, defers periodic tasks once across all of them and
keeps worker heartbeats. What this module adds is the monitor's part:

- ``monitor run`` (:func:`enqueue_due`, every few seconds) defers one ``monitor.check``
  job per watch that falls due, scheduled for its due time. The job's queueing lock
  (``watch:NAME``) keeps at most one waiting job per watch in the queue, its lock keeps
  at most one running; a watch with a job waiting or running is not deferred again. A
  watch's due time is its last check plus its interval, with jitter; watches that are
  overdue (a first start, a long stop) are spread over a start-up window.
- ``monitor worker`` (:func:`run_worker`) runs those jobs. Per-host politeness is
  shared by every worker (hosts.py). A job's run key (watch and due time) is recorded
  in the same transaction as its capture, so a job retried after its worker died never
  records the same due check twice; the store refuses an event decided against a
  reference another worker has since moved.
- A periodic task (every 5 s, once across the fleet) hands the jobs of workers whose
  heartbeat stopped back to the queue, so a killed worker's checks are done by others.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import signal
import socket
import time
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import procrastinate
from procrastinate import exceptions as pq_errors

from ..analysis.events import Thresholds
from ..check import Checker, thresholds
from ..config import defaults
from ..config.settings import Settings
from ..config.watchlist import Watch
from ..errors import MonitorError, StoreError
from ..fetch.http import FetchPolicy, HttpFetcher
from ..model import CheckResult, Outcome, iso, utc_now
from ..store.postgres import CHECK_RUN, PostgresStore
from .hosts import PostgresHostGate
from .scheduler import JITTER_SHARE, MAX_JITTER_SECONDS, STARTUP_SPREAD_SECONDS, trigger_for

log = logging.getLogger(__name__)

# Task names in the queue ("monitor:" is the blueprint's namespace).
CHECK_TASK = "monitor:check"
STALLED_TASK = "monitor:retry_stalled"
QUEUE = "monitor-checks"
ENQUEUE_EVERY = 10.0  # seconds between rounds of `monitor run`
STALLED_AFTER = 60.0  # seconds without a heartbeat before a worker's jobs go to others
SETTINGS_KEY = "watchlist"
# Connections whose commits may skip waiting for the WAL flush (see make_app).
NO_FLUSH_WAIT = {"options": "-c synchronous_commit=off"}

# -- the jobs ------------------------------------------------------------------------


async def check_job(context: procrastinate.JobContext, watch: str, due: str) -> str:
    """Check one watch for one due time (a job of ``monitor worker``)."""
    runtime: WorkerRuntime = context.additional_context["monitor"]
    return await runtime.check(watch, due)


async def retry_stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> int:
    """Give the checks of workers that stopped sending heartbeats back to the queue."""
    runtime: WorkerRuntime | None = (context.additional_context or {}).get("monitor")
    manager = context.app.job_manager
    stalled = list(
        await manager.get_stalled_jobs(
            task_name=CHECK_TASK,
            seconds_since_heartbeat=runtime.stalled_after if runtime else STALLED_AFTER,
        )
    )
    for job in stalled:
        log.warning("worker %s stopped; job %s (%s) goes back to the queue",
                    job.worker_id, job.id, job.task_kwargs.get("watch"))  # fmt: skip
        await manager.retry_job(job)
    return len(stalled)


def make_app(url: str) -> procrastinate.App:
    """A procrastinate app on the store's database, with the monitor's tasks."""
    # A blueprint is consumed by the app it is added to: one per app.
    blueprint = procrastinate.Blueprint()
    blueprint.task(name="check", queue=QUEUE, pass_context=True)(check_job)
    blueprint.periodic(cron="* * * * * */5", periodic_id="stalled")(
        blueprint.task(
            name="retry_stalled", queue=QUEUE, queueing_lock=STALLED_TASK, pass_context=True
        )(retry_stalled_jobs)
    )
    # The queue's bookkeeping need not wait for a disk flush: a job whose "done" is lost
    # in a database crash is retried, finds its run key recorded, and records nothing.
    connector = procrastinate.PsycopgConnector(conninfo=url, kwargs=NO_FLUSH_WAIT)
    app = procrastinate.App(connector=connector)
    app.add_tasks_from(blueprint, namespace="monitor")
    return app


async def ensure_queue_schema(app: procrastinate.App) -> None:
    """Create procrastinate's tables on first use (once, even with many starting)."""
    async with app.open_async():
        connector = app.connector
        rows = await connector.execute_query_all_async(
            "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present"
        )
        if rows and rows[0]["present"]:
            return
        await connector.execute_query_async("SELECT pg_advisory_lock(7236051041734062850)")
        try:
            rows = await connector.execute_query_all_async(
                "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present"
            )
            if not (rows and rows[0]["present"]):
                await app.schema_manager.apply_schema_async()
        finally:
            await connector.execute_query_async("SELECT pg_advisory_unlock(7236051041734062850)")


# -- enqueueing ----------------------------------------------------------------------


def next_due(
    watch: Watch,
    last_check: datetime | None,
    now: datetime,
    rng: random.Random,
    spread: float = STARTUP_SPREAD_SECONDS,
) -> datetime:
    """When a watch is next due: one interval (with jitter) after its last check.

    Overdue watches are spread over ``spread`` seconds from now.

    >>> from datetime import UTC
    >>> w = Watch("a", "https://x", every_seconds=3600)
    >>> now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    >>> due = next_due(w, now - timedelta(minutes=10), now, random.Random(1))
    >>> timedelta(minutes=44) <= due - now <= timedelta(minutes=56)
    True
    >>> now <= next_due(w, None, now, random.Random(1)) <= now + timedelta(minutes=5)
    True
    """
    if watch.cron:
        fire = trigger_for(watch).get_next_fire_time(None, last_check or now)
        return max(fire or now, now)
    every = float(watch.every_seconds or 21600)
    if last_check is None or last_check + timedelta(seconds=every) <= now:
        return now + timedelta(seconds=rng.uniform(0, min(every, spread)))
    jitter = min(every * JITTER_SHARE, MAX_JITTER_SECONDS)
    due = last_check + timedelta(seconds=every + rng.uniform(-jitter, jitter))
    return max(due, now)


async def active_watches(app: procrastinate.App) -> set[str]:
    """Watches with a check job waiting or running."""
    names: set[str] = set()
    for status in ("todo", "doing"):
        jobs = await app.job_manager.list_jobs_async(task=CHECK_TASK, status=status)
        names.update(str(job.task_kwargs.get("watch")) for job in jobs)
    return names


async def enqueue_due(
    app: procrastinate.App,
    watches: Sequence[Watch],
    last_checks: Mapping[str, datetime] | Callable[[], Mapping[str, datetime]],
    *,
    now: datetime | None = None,
    horizon: float = 2 * ENQUEUE_EVERY,
    spread: float = STARTUP_SPREAD_SECONDS,
    rng: random.Random | None = None,
) -> list[tuple[str, datetime]]:
    """Defer a check for every watch due within ``horizon`` seconds; returns what was deferred.

    A watch whose job waits or runs is skipped; the queueing lock also refuses a second
    waiting job when two ``monitor run`` race. ``last_checks`` may be a function: it is
    then read *after* the busy watches, so that a job finishing in between is seen by
    its capture (committed before the job is marked done), never missed by both.
    """
    now = now or utc_now()
    rng = rng or random.Random()
    busy = await active_watches(app)
    if callable(last_checks):
        last_checks = await asyncio.to_thread(last_checks)
    task = app.tasks[CHECK_TASK]
    deferred = []
    for watch in watches:
        if watch.name in busy:
            continue
        due = next_due(watch, last_checks.get(watch.name), now, rng, spread)
        if due > now + timedelta(seconds=horizon):
            continue
        lock = f"watch:{watch.name}"
        with contextlib.suppress(pq_errors.AlreadyEnqueued):
            await task.configure(queueing_lock=lock, lock=lock, schedule_at=due).defer_async(
                watch=watch.name, due=iso(due)
            )
            deferred.append((watch.name, due))
    return deferred


def save_settings(store: PostgresStore, settings: Settings) -> None:
    """Workers check with the watchlist's settings, which `monitor run` keeps in the store."""
    store.save_settings(SETTINGS_KEY, dataclasses.asdict(settings))


def load_settings(store: PostgresStore) -> Settings:
    saved = store.load_settings(SETTINGS_KEY)
    if saved is None:
        return Settings()
    known = {f.name for f in dataclasses.fields(Settings)}
    return Settings(**{k: v for k, v in saved.items() if k in known})


async def run_enqueuer(
    store: PostgresStore,
    watches: Sequence[Watch],
    settings: Settings,
    *,
    every: float = ENQUEUE_EVERY,
    spread: float = STARTUP_SPREAD_SECONDS,
    once: bool = False,
    on_round: Any = None,
) -> None:
    """`monitor run` on PostgreSQL: register the watchlist, then enqueue due checks.

    Runs until SIGINT/SIGTERM, or for one round with ``once``.
    """
    store.ensure_watches([(w.name, w.url, dataclasses.asdict(w)) for w in watches])
    save_settings(store, settings)
    signer = _Signer(store, settings.timestamp_authority)
    app = make_app(store.url)
    await ensure_queue_schema(app)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    if not once:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
    try:
        async with app.open_async():
            while True:
                deferred = await enqueue_due(
                    app, watches, store.last_checks, horizon=2 * every, spread=spread
                )
                if on_round is not None:
                    on_round(deferred)
                if once:
                    return
                await signer.maybe_sign()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=every)
                if stopping.is_set():
                    return
    finally:
        if not once:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await signer.maybe_sign(force=True)  # what the workers recorded is covered


@dataclass
class _Signer:
    """`monitor run` signs the fleet's checkpoints (the workers hold no key), every few
    minutes when the chain moved, and when it stops (docs/evidence.md)."""

    store: PostgresStore
    authority: str | None
    every: float = defaults.CHECKPOINT_EVERY_SECONDS
    signed_at: float = 0.0
    signed_seq: int = -1

    async def maybe_sign(self, force: bool = False) -> None:
        from ..evidence.service import make_checkpoint  # cryptography: only when signing

        if not force and time.monotonic() - self.signed_at < self.every:
            return
        try:
            if self.store.chain_head().seq == self.signed_seq:
                return
            point = await asyncio.to_thread(make_checkpoint, self.store, None, self.authority)
        except MonitorError as error:  # no key directory: said, and checks go on
            log.warning("no checkpoint signed: %s", error)
            return
        self.signed_at = time.monotonic()
        if point is not None:
            self.signed_seq = point.seq


# -- the worker ----------------------------------------------------------------------


def watch_from_config(config: Mapping[str, Any]) -> Watch:
    """Rebuild a watch from the configuration the store keeps (JSON: lists for tuples,
    objects for nested records such as the browser options).

    >>> import json
    >>> w = Watch("a", "https://x", tags=("t",), headers=(("A", "b"),), fetch="browser")
    >>> watch_from_config(json.loads(json.dumps(dataclasses.asdict(w)))) == w
    True
    """
    return _rebuild(Watch, config)


def _rebuild(kind: type[Any], values: Mapping[str, Any]) -> Any:
    hints = typing.get_type_hints(kind)
    known: dict[str, Any] = {}
    for field in dataclasses.fields(kind):
        if field.name not in values:
            continue  # a field added since: its default
        value = values[field.name]
        nested = hints[field.name]
        if dataclasses.is_dataclass(nested) and isinstance(value, Mapping):
            value = _rebuild(nested, value)  # type: ignore[arg-type]
        elif isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        known[field.name] = value
    return kind(**known)


@dataclass
class WorkerRuntime:
    """What a worker's jobs share: the store and one checker (fetcher and gate)."""

    store: PostgresStore
    checker: Checker
    stalled_after: float = STALLED_AFTER
    on_result: Callable[[CheckResult], None] | None = None  # e.g. print a line per check

    async def check(self, name: str, due: str) -> str:
        key = f"{name}@{due}"
        config, recorded = await asyncio.to_thread(self.store.run_context, name, key)
        if recorded:
            return "already recorded"  # a retried job whose worker died after committing
        watch = watch_from_config(config)
        token = CHECK_RUN.set(key)
        try:
            result: CheckResult = await self.checker.check(watch)
        finally:
            CHECK_RUN.reset(token)
        if result.outcome == Outcome.INTERNAL_ERROR:
            if await asyncio.to_thread(self.store.check_run_recorded, key):
                return "already recorded"  # another worker got there first
            raise StoreError(f"checking {name} failed: {result.error}")
        log.info("%s due %s: %s %s", name, due, result.outcome, " ".join(result.events))
        if self.on_result is not None:
            self.on_result(result)
        return f"{result.outcome} {' '.join(result.events)}".strip()


async def run_worker(
    store: PostgresStore,
    *,
    concurrency: int | None = None,
    stalled_after: float = STALLED_AFTER,
    name: str | None = None,
    wait: bool = True,
    limits: Thresholds | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> None:
    """`monitor worker`: run check jobs until SIGINT/SIGTERM (in-flight checks finish)."""
    settings = load_settings(store)
    policy = FetchPolicy.from_settings(settings)
    concurrency = concurrency or policy.max_connections
    app = make_app(store.url)
    await ensure_queue_schema(app)
    gate = PostgresHostGate(store.url, policy.per_host, policy.host_delay, size=concurrency + 1)
    async with gate, HttpFetcher(policy, gate=gate) as fetcher:
        checker = Checker(store, fetcher, limits or thresholds(settings))
        runtime = WorkerRuntime(store, checker, stalled_after, on_result)
        try:
            async with app.open_async():
                await app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=concurrency,
                    name=name or f"{socket.gethostname()}:{os.getpid()}",
                    wait=wait,
                    additional_context={"monitor": runtime},
                    update_heartbeat_interval=max(0.5, stalled_after / 6),
                    stalled_worker_timeout=stalled_after,
                    shutdown_graceful_timeout=120,
                    delete_jobs="successful",
                )
        finally:
            checker.close()
