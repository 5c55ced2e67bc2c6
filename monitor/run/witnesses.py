"""Working the witness queue beside the checks (``monitor run``, ``monitor witness work``).

The queue lives in the store (``archives/witness.py``); this module only decides when a
worker runs and gives it an archive client configured from the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator

from ..archives.client import WaybackClient, pacing_factor
from ..archives.spn import Credentials
from ..archives.witness import PENDING, Pass, Timing, WitnessWorker
from ..config.settings import Settings
from ..errors import ConfigError
from ..model import parse_time, utc_now
from ..store import EvidenceStore, StoreSpec, open_store
from .threads import in_background

log = logging.getLogger(__name__)

QUEUE_EVERY = 30.0  # seconds between passes over the queue while monitoring


def wanted(store: EvidenceStore, settings: Settings) -> bool:
    """Run a worker when the watchlist asks for witnesses or some are still pending."""
    return settings.witness is not None or bool(store.witnesses(status=PENDING))


def witness_service(
    store: EvidenceStore, settings: Settings, every: float = QUEUE_EVERY
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """A background service for :class:`~monitor.run.scheduler.Runner`."""

    async def serve(stopping: asyncio.Event) -> None:
        async with WaybackClient(
            credentials=Credentials.from_env(), contact=settings.contact
        ) as client:
            worker = WitnessWorker(store, client, Timing().scaled(pacing_factor()))
            await worker.run(stopping, every=every)

    return serve


@contextlib.contextmanager
def witnesses_in_background(
    spec: StoreSpec, settings: Settings, every: float = QUEUE_EVERY
) -> Iterator[None]:
    """The witness queue worked in a thread while ``monitor run`` on PostgreSQL queues
    checks (the workers record the changes and their witness requests). It holds the
    store's witness lock: a ``monitor witness work`` already running keeps the queue."""
    store = open_store(spec)
    if not wanted(store, settings):
        store.close()
        yield
        return

    async def serve(stop: threading.Event) -> None:
        stopping = asyncio.Event()

        async def watch() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.2)
            stopping.set()

        await asyncio.gather(witness_service(store, settings, every)(stopping), watch())

    def work(stop: threading.Event) -> None:
        try:
            with store.witness_lock():  # type: ignore[attr-defined]
                asyncio.run(serve(stop))
        except ConfigError as busy:
            log.warning("witness queue: %s", busy)

    try:
        with in_background(work, "monitor-witnesses", join_seconds=30):
            yield
    finally:
        store.close()


async def work_queue(
    store: EvidenceStore, settings: Settings | None = None, for_seconds: float = 0.0
) -> Pass:
    """Work the queue now: one pass, or passes until nothing is left to do or time is up
    (sleeping until the next witness is due)."""
    settings = settings or Settings()
    total = Pass()
    deadline = time.monotonic() + for_seconds
    async with WaybackClient(
        credentials=Credentials.from_env(), contact=settings.contact
    ) as client:
        worker = WitnessWorker(store, client, Timing().scaled(pacing_factor()))
        while True:
            done = await worker.work_once()
            for name in ("submitted", "archived", "failed", "verified", "postponed"):
                setattr(total, name, getattr(total, name) + getattr(done, name))
            total.notes += [n for n in done.notes if n not in total.notes]
            wait = _until_next(store)
            if wait is None or time.monotonic() + wait > deadline:
                return total
            await asyncio.sleep(max(wait, 0.05))


def _until_next(store: EvidenceStore) -> float | None:
    """Seconds until the next unfinished witness is due; None when none is left."""
    waiting = store.witnesses(status=PENDING) + [
        w for w in store.witnesses(status="archived") if w["copy"] is None
    ]
    if not waiting:
        return None
    soonest = min(parse_time(w["next_attempt_at"]) for w in waiting)
    return max(0.0, (soonest - utc_now()).total_seconds())
