"""Alerts while checking: ``monitor check`` and ``monitor run`` call into monitor/notify here.

- before the first check, the watchlist's routes are registered (a new route starts
  from the newest event then, not from the whole history);
- ``monitor check`` runs one pass at its end: its batch of events is complete, so
  nothing waits for others to join it;
- ``monitor run`` runs a pass a few seconds after any check that recorded an event,
  and every ``tick`` seconds anyway (digests fall due, retries come round, a route's
  ``wait`` ends). Passes run in a worker thread (apprise's senders block), one at a
  time, so checks go on meanwhile.

Nothing here is needed for safety: events are in the store before any pass, and a
pass killed anywhere is finished by the next one (see notify/outbox.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.watchlist import Watchlist
from ..store import StoreSpec, open_store
from .threads import in_background

if TYPE_CHECKING:  # notify (and apprise behind it) is imported only when routes exist
    from ..notify import Notifier, PassReport

log = logging.getLogger(__name__)

TICK_SECONDS = 15.0  # a pass at least this often in monitor run
SETTLE_SECONDS = 2.0  # after a check with events, wait this long for others to finish
FINAL_PASS_SECONDS = 30.0  # on shutdown, one last pass may take this long
MIN_SLEEP_SECONDS = 0.5  # between passes, however soon something falls due


@contextlib.contextmanager
def notifier_for(
    location: str | StoreSpec, watchlist: Watchlist, create: bool = True, warn: bool = True
) -> Iterator[Notifier]:
    """A notifier on the store at ``location`` (a data directory or a PostgreSQL store),
    its routes registered."""
    from ..notify import Notifier, open_outbox

    spec = location if isinstance(location, StoreSpec) else StoreSpec(location)
    with open_store(spec, create=create) as store:  # and migrated
        data_dir = store.location
    outbox = open_outbox(spec if spec.postgres else Path(data_dir))
    try:
        notifier = Notifier(outbox, watchlist.routes, data_dir, warn=warn)
        notifier.start()
        yield notifier
    finally:
        outbox.close()


def register_routes(location: str | StoreSpec, watchlist: Watchlist) -> None:
    """Before checking: routes seen for the first time start from now."""
    if watchlist.routes:
        with notifier_for(location, watchlist, warn=False):
            pass


def notify_after_check(location: str | StoreSpec, watchlist: Watchlist) -> PassReport | None:
    """At the end of ``monitor check``: plan (the batch is complete) and deliver."""
    if not watchlist.routes:
        return None
    with notifier_for(location, watchlist) as notifier:
        return notifier.run_once(batch_complete=True)


@contextlib.contextmanager
def alerts_in_background(
    spec: StoreSpec,
    watchlist: Watchlist,
    tick: float = TICK_SECONDS,
    on_line: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Notification passes every ``tick`` seconds in a thread, and one at the end, while
    ``monitor run`` on PostgreSQL queues checks (the workers record the events)."""
    if not watchlist.routes:
        yield
        return
    with notifier_for(spec, watchlist) as notifier:

        def one_pass() -> None:
            try:
                report = notifier.run_once()
            except Exception:  # a notification bug must not stop the queueing
                log.exception("notify: a pass failed; it is retried at the next tick")
                return
            for line in report.lines:
                (on_line or log.info)(line)

        def passes(stop: threading.Event) -> None:
            while not stop.is_set():
                one_pass()
                stop.wait(tick)
            one_pass()  # what the last checks found

        with in_background(passes, "monitor-alerts", FINAL_PASS_SECONDS):
            yield


class AlertLoop:
    """Notification passes alongside a :class:`~monitor.run.scheduler.Runner`."""

    def __init__(
        self,
        notifier: Notifier,
        tick: float = TICK_SECONDS,
        settle: float = SETTLE_SECONDS,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        self.notifier = notifier
        self.on_line = on_line  # what was sent or failed, for the terminal
        self.tick = tick
        self.settle = settle
        self._poked = asyncio.Event()
        self._next_due: datetime | None = None

    def poke(self) -> None:
        """A check recorded events: run a pass soon (call from the event loop's thread)."""
        self._poked.set()

    async def run(self, stopping: asyncio.Event) -> None:
        """Passes until ``stopping`` is set."""
        while not stopping.is_set():
            await self._pass()
            await self._sleep(stopping)

    async def last_pass(self) -> None:
        """After the last checks finished: send what they found (bounded in time)."""
        try:
            await asyncio.wait_for(self._pass(), FINAL_PASS_SECONDS)
        except TimeoutError:
            log.warning("notify: the last pass did not finish; the next start completes it")

    async def _sleep(self, stopping: asyncio.Event) -> None:
        # Until the next tick, or sooner when a retry or a held event falls due.
        timeout = self.tick
        if self._next_due is not None:
            until = (self._next_due - self.notifier.clock()).total_seconds()
            timeout = min(timeout, max(until + 0.05, MIN_SLEEP_SECONDS))
        waiters = {
            asyncio.ensure_future(self._poked.wait()),
            asyncio.ensure_future(stopping.wait()),
        }
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if self._poked.is_set() and not stopping.is_set():
            # Checks that finish together land in one pass (and one summary if many).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.settle)
        self._poked.clear()

    async def _pass(self) -> None:
        try:
            report = await asyncio.to_thread(self.notifier.run_once)
        except Exception:  # a notification bug must not stop the checking
            log.exception("notify: a pass failed; it is retried at the next tick")
            return
        self._next_due = report.next_due
        for line in report.lines:
            if self.on_line is not None:
                self.on_line(line)
            else:
                log.info("notify %s", line)
