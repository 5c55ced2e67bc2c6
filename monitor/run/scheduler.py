"""Scheduling with APScheduler 3: each watch on its own interval (with jitter) or cron.

After a restart, a watch's next check is due one interval after its last recorded
check, not at once; watches that are overdue are spread over a start-up window so a
restart never fires every watch in the same second. SIGINT/SIGTERM stop new checks,
let the ones in flight finish their writes, then return.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ..check import Checker, CheckResult
from ..config import defaults
from ..config.watchlist import Watch
from ..errors import MonitorError
from ..store import EvidenceStore

if TYPE_CHECKING:
    from .alerts import AlertLoop

log = logging.getLogger(__name__)

STARTUP_SPREAD_SECONDS = 300.0  # overdue watches are spread over at most this window
JITTER_SHARE = 0.1  # +-10% of the interval, at most five minutes
MAX_JITTER_SECONDS = 300.0
SHUTDOWN_GRACE_SECONDS = 120.0


def trigger_for(watch: Watch) -> BaseTrigger:
    if watch.cron:
        return CronTrigger.from_crontab(watch.cron, timezone=UTC)
    every = float(watch.every_seconds or 21600)
    return IntervalTrigger(
        seconds=every, jitter=int(min(every * JITTER_SHARE, MAX_JITTER_SECONDS)), timezone=UTC
    )


def first_run(
    watch: Watch,
    last_check: datetime | None,
    now: datetime,
    rng: random.Random | None = None,
    spread: float = STARTUP_SPREAD_SECONDS,
) -> datetime | None:
    """When a watch should first be checked after start-up (None: let cron decide).

    >>> w = Watch(name="a", url="https://x", every_seconds=3600)
    >>> now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    >>> first_run(w, now - timedelta(minutes=10), now)
    datetime.datetime(2026, 1, 1, 12, 50, tzinfo=datetime.timezone.utc)
    """
    if watch.cron:
        return None
    rng = rng or random.Random()
    every = float(watch.every_seconds or 21600)
    if last_check is not None and last_check + timedelta(seconds=every) > now:
        return last_check + timedelta(seconds=every)
    return now + timedelta(seconds=rng.uniform(0, min(every, spread)))


class Extension(Protocol):
    """More jobs for a Runner (site discovery): scheduled when the Runner starts, told of
    every check's result."""

    def schedule(self, runner: Runner, last_checks: Mapping[str, datetime]) -> None: ...
    def after_check(self, result: CheckResult) -> None: ...


class Runner:
    """Runs a Checker on a schedule until stopped."""

    def __init__(
        self,
        checker: Checker,
        store: EvidenceStore,
        watches: tuple[Watch, ...],
        on_result: Callable[[CheckResult], None] | None = None,
        startup_spread: float = STARTUP_SPREAD_SECONDS,
        alerts: AlertLoop | None = None,
        checkpoint_every: float = defaults.CHECKPOINT_EVERY_SECONDS,
        timestamp_authority: str | None = None,
        extensions: tuple[Extension, ...] = (),
        background: Sequence[Callable[[asyncio.Event], Awaitable[None]]] = (),
    ) -> None:
        self.checker = checker
        self.checkpoint_every = checkpoint_every
        self.timestamp_authority = timestamp_authority
        self._checkpointed = -1  # chain position of the last checkpoint this run signed
        # Services that run beside the checks until stopped (the witness queue): each
        # gets the stopping event; a check never waits for them.
        self.background = tuple(background)
        self.store = store
        self.startup_spread = startup_spread
        self.watches = watches
        self.on_result = on_result
        self.alerts = alerts  # notification passes alongside the checks (alerts.py)
        self.extensions = extensions
        self.stopping = asyncio.Event()
        self.scheduler: AsyncIOScheduler | None = None
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._jobs: set[asyncio.Task[Any]] = set()  # the scheduled jobs awaiting those

    async def _job(self, watch: Watch) -> None:
        if self.stopping.is_set():
            return
        job = asyncio.current_task()
        assert job is not None  # a coroutine job runs in a task
        self._jobs.add(job)  # a stop waits for it, so that its result line is shown
        work = asyncio.ensure_future(self.checker.check(watch))
        try:
            result = await self.guarded(work)
        except asyncio.CancelledError:
            if not self.stopping.is_set():
                raise
            # The scheduler's shutdown cancels running jobs, not their checks: the check
            # finishes its writes (the stop waits for it); its result is shown here.
            try:
                result = await asyncio.shield(work)
            except asyncio.CancelledError:
                log.info("%s: check cancelled by the stop; nothing recorded", watch.name)
                return  # not an error of the job: no traceback on the way out
        finally:
            self._jobs.discard(job)
        if self.alerts is not None and result.events:
            self.alerts.poke()
        for extension in self.extensions:
            extension.after_check(result)
        if self.on_result is not None:
            self.on_result(result)

    async def checkpoint(self) -> None:
        """Sign (and timestamp) a checkpoint if records were added since the last one."""
        from ..evidence.service import make_checkpoint  # cryptography: only when signing

        try:
            if self.store.chain_head().seq == self._checkpointed:
                return
            # Signing is instant; a timestamp is a network call: off the event loop.
            point = await asyncio.to_thread(
                make_checkpoint, self.store, None, self.timestamp_authority
            )
        except MonitorError as error:
            log.warning("no checkpoint signed: %s", error)
            return
        if point is not None:
            self._checkpointed = point.seq
            log.info("checkpoint signed at chain position %d", point.seq)

    async def guarded(self, work: Awaitable[Any]) -> Any:
        """Run work that writes to the store so that a stop lets it finish."""
        task = asyncio.ensure_future(work)
        self._in_flight.add(task)
        # Until it is done, not until this wait ends: a cancelled wait (the scheduler's
        # shutdown cancels running jobs) must leave the work for the stop to wait for.
        task.add_done_callback(self._in_flight.discard)
        return await asyncio.shield(task)

    def add_watch(self, watch: Watch, start: datetime | None) -> None:
        """Schedule a watch (or reschedule it, e.g. at a new URL) while running."""
        assert self.scheduler is not None
        options: dict[str, object] = {} if start is None else {"next_run_time": start}
        self.scheduler.add_job(
            self._job,
            trigger_for(watch),
            args=[watch],
            id=watch.name,
            name=watch.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            replace_existing=True,
            **options,
        )

    def remove_watch(self, name: str) -> None:
        assert self.scheduler is not None
        if self.scheduler.get_job(name) is not None:
            self.scheduler.remove_job(name)

    def schedule(self, scheduler: AsyncIOScheduler, last_checks: Mapping[str, datetime]) -> None:
        now = datetime.now(UTC)
        self.scheduler = scheduler
        for watch in self.watches:
            start = first_run(watch, last_checks.get(watch.name), now, spread=self.startup_spread)
            self.add_watch(watch, start)
        for extension in self.extensions:
            extension.schedule(self, last_checks)

    async def run(self) -> None:
        """Schedule every watch and run until SIGINT/SIGTERM (or ``stopping`` is set)."""
        self.checker.register(self.watches)
        scheduler = AsyncIOScheduler(timezone=UTC)
        self.schedule(scheduler, self.store.last_checks())
        scheduler.add_job(
            self.checkpoint,
            IntervalTrigger(seconds=self.checkpoint_every),
            id="monitor:checkpoint",
            name="signed checkpoint",
            max_instances=1,
            coalesce=True,
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stopping.set)
        scheduler.start()
        for job in scheduler.get_jobs():
            log.info("%s: next check %s", job.name, job.next_run_time)
        alerting = asyncio.ensure_future(self.alerts.run(self.stopping)) if self.alerts else None
        services = [asyncio.ensure_future(service(self.stopping)) for service in self.background]
        try:
            await self.stopping.wait()
        finally:
            scheduler.shutdown(wait=False)
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await self._finish_in_flight()
            if alerting is not None and self.alerts is not None:
                await alerting
                await self.alerts.last_pass()  # sends what the last checks found
            await self._finish_services(services)
            await self.checkpoint()  # what this run recorded is covered when it stops

    async def _finish_services(self, services: Sequence[asyncio.Future[None]]) -> None:
        if not services:
            return
        _, pending = await asyncio.wait(services, timeout=SHUTDOWN_GRACE_SECONDS)
        for task in pending:
            task.cancel()  # their work is durable (a queue in the store): nothing is lost

    async def _finish_in_flight(self) -> None:
        if self._in_flight:
            log.info("waiting for %d check(s) in flight to finish", len(self._in_flight))
            _, pending = await asyncio.wait(self._in_flight, timeout=SHUTDOWN_GRACE_SECONDS)
            for task in pending:
                task.cancel()  # a cancelled fetch records nothing; the store stays consistent
        if self._jobs:  # then the jobs show their results (or note the cancellation)
            await asyncio.wait(self._jobs, timeout=SHUTDOWN_GRACE_SECONDS)
