"""Alerts: the watchlist's ``notify:`` routes, delivered durably through apprise.

One pass (``Notifier.run_once``) does two things, each safe to interrupt anywhere:

1. **plan** — for every route, read the change events after its cursor, keep those its
   filters want, and write the messages to send (one per event, one summary for many,
   or one digest per period) in the same transaction that moves the cursor
   (``outbox.py``, ``plan.py``);
2. **deliver** — for every route and destination, send the messages it still needs,
   oldest first, record each delivery in the ledger, retry failures with exponential
   backoff; a destination that comes back with many messages waiting gets one catch-up
   message instead of a flood.

``monitor run`` runs a pass shortly after every check that recorded an event and every
few seconds; ``monitor check`` runs one at its end. ``monitor notify status`` reads the
outbox; ``monitor notify test`` sends a sample through every destination.

>>> from monitor.config.routes import parse_route
>>> route = parse_route({"name": "team", "urls": ["json://127.0.0.1:9/hook"]})
>>> [t.key for t in resolve(route).targets]
['json://127.0.0.1:9/hook?method=POST']
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..config import defaults
from ..config.routes import Route
from ..model import iso, utc_now
from ..store import StoreSpec, open_blobs
from .database import OUTBOX_LOCK
from .event import Event, Message, Where, sample_event
from .outbox import Due, Outbox
from .plan import Plan, plan
from .render import render_batch, render_event
from .send import SendResult, send
from .targets import Resolved, Target, resolve

__all__ = ["Notifier", "PassReport", "TestResult", "open_outbox", "resolve", "try_routes"]

log = logging.getLogger(__name__)


def open_outbox(where: str | os.PathLike[str] | StoreSpec) -> Outbox:
    """The outbox of a store already opened once (migrated): a data directory, or a
    PostgreSQL store (its tables, on a connection pool of the outbox's own)."""
    if isinstance(where, StoreSpec) and where.postgres:
        from ..store.postgres import PostgresStore
        from ..store.postgres_compat import CompatDatabase

        store = PostgresStore(where.location, open_blobs(where.blobs), pool_size=2)
        return Outbox(CompatDatabase(store, OUTBOX_LOCK, owned=True))
    location = where.location if isinstance(where, StoreSpec) else where
    return Outbox(Path(location) / "monitor.db")


@dataclass
class PassReport:
    """What one pass did (for the command line and logs)."""

    planned: int = 0  # messages written to the outbox
    sent: int = 0  # deliveries that succeeded
    failed: int = 0  # deliveries that failed (to be retried)
    lines: list[str] = field(default_factory=list)
    next_due: datetime | None = None  # the earliest held event or retry that falls due

    def due(self, moment: datetime | None) -> None:
        if moment is not None and (self.next_due is None or moment < self.next_due):
            self.next_due = moment

    def to_json(self) -> dict[str, int]:
        return {"queued": self.planned, "delivered": self.sent, "failed": self.failed}

    def summary(self) -> str:
        return (
            f"notify: {self.planned} message(s) queued, {self.sent} delivered, {self.failed} failed"
        )


@dataclass(frozen=True)
class TestResult:
    route: str
    target: str
    ok: bool
    error: str | None = None


def backoff(retry_seconds: float, attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones (doubling, capped).

    >>> [backoff(30, n) for n in (1, 2, 3, 10)]
    [30.0, 60.0, 120.0, 3600.0]
    """
    return float(min(retry_seconds * 2 ** max(attempts - 1, 0), defaults.NOTIFY_MAX_BACKOFF))


class Notifier:
    """Plans and delivers the routes of one watchlist against one data directory."""

    def __init__(
        self,
        outbox: Outbox,
        routes: Sequence[Route],
        data_dir: str,
        clock: Callable[[], datetime] = utc_now,
        environ: Mapping[str, str] | None = None,
        send_one: Callable[[Target, Message], SendResult] = send,
        warn: bool = True,
    ) -> None:
        self.outbox = outbox
        self.routes = tuple(routes)
        self.data_dir = data_dir
        self.clock = clock
        self._send = send_one
        self.resolved: dict[str, Resolved] = {r.name: resolve(r, environ) for r in self.routes}
        for route in self.routes if warn else ():
            for problem in self.resolved[route.name].problems:
                log.warning("notify route %s: %s", route.name, problem)

    def public(self, route: Route) -> dict[str, Any]:
        """A route as it may be stored and shown: masked destinations, no secrets."""
        resolved = self.resolved[route.name]
        return {
            **route.public(),
            "targets": [t.key for t in resolved.targets],
            "problems": list(resolved.problems),
        }

    def start(self) -> None:
        """Register the routes: a route seen for the first time starts from now."""
        self.outbox.register(
            self.routes, {r.name: self.public(r) for r in self.routes}, self.clock()
        )

    # -- one pass ---------------------------------------------------------------------

    def run_once(self, batch_complete: bool = False) -> PassReport:
        report = PassReport()
        for route in self.routes:
            decided = self.plan_route(route, batch_complete)
            if decided is not None:
                report.planned += len(decided.messages)
                report.due(decided.due_at)
        for route in self.routes:
            self.deliver_route(route, report)
        report.due(self.outbox.next_attempt([r.name for r in self.routes]))
        return report

    def plan_route(self, route: Route, batch_complete: bool = False) -> Plan | None:
        now = self.clock()
        return self.outbox.plan_route(
            route, now, lambda state, inbox: plan(route, state, inbox, now, batch_complete)
        )

    def deliver_route(self, route: Route, report: PassReport) -> None:
        targets = self.resolved[route.name].targets
        for target in targets:
            try:
                self._deliver_to(route, target, report)
            except Exception:  # one destination's bug must not stop the others
                log.exception("notify route %s: delivering to %s failed", route.name, target.key)
        self.outbox.complete(route.name, [t.key for t in targets], self.clock())

    def _deliver_to(self, route: Route, target: Target, report: PassReport) -> None:
        now = self.clock()
        due = self.outbox.due(route.name, target.key, now)
        if not due:
            return
        claimed = set(self.outbox.claim(target.key, [d.message for d in due], now))
        due = [d for d in due if d.message in claimed]
        # A destination that was down comes back to one catch-up message, not a flood.
        groups = [due] if len(due) > route.summarize_over else [[d] for d in due]
        for index, group in enumerate(groups):
            ids = [d.message for d in group]
            try:
                message = self.render(route, target, group)
                result = self._send(target, message)
            except Exception as error:  # e.g. a rendering bug: retried like a failed send
                log.exception("notify route %s: preparing message %s failed", route.name, ids)
                result = SendResult(False, f"internal error: {type(error).__name__}")
            now = self.clock()
            if result.ok:
                self.outbox.delivered(target.key, ids, now)
                report.sent += 1
                report.lines.append(f"{route.name}: sent {_what(group)} to {target.key}")
                continue
            attempts = max(d.attempts for d in group) + 1
            retry_at = now + timedelta(seconds=backoff(route.retry_seconds, attempts))
            self.outbox.failed(target.key, ids, result.error or "failed", retry_at)
            later = [d.message for g in groups[index + 1 :] for d in g]
            if later:  # the destination is failing: the rest wait for the same retry
                self.outbox.postpone(target.key, later, retry_at)
            report.failed += 1
            report.lines.append(
                f"{route.name}: FAILED to send {_what(group)} to {target.key}: "
                f"{result.error} (retry at {iso(retry_at)[:19]}Z)"
            )
            log.warning("notify %s", report.lines[-1])
            return

    def render(self, route: Route, target: Target, group: Sequence[Due]) -> Message:
        """The message for one or more outbox messages, in the destination's style."""
        where = Where(self.data_dir, route.report_url)
        change_ids = [c for d in group for c in d.changes]
        events = self.outbox.events(change_ids)
        if not events:
            raise LookupError(f"changes {change_ids} not found")
        if len(group) > 1:
            return render_batch(events, where, target.style, "catch-up")
        (only,) = group
        if only.kind == "event" and len(events) == 1:
            return render_event(events[0], where, target.style)
        return render_batch(
            events, where, target.style, "digest" if only.kind == "digest" else "summary"
        )

    # -- tests and status -------------------------------------------------------------

    def held(self, route: Route) -> tuple[int, Plan | None]:
        """Events this route wants that are in no message yet, and why they wait."""
        now = self.clock()
        waiting = self.outbox.held(route)
        if not waiting:
            return 0, None
        state = self.outbox.state(route, now)
        return len(waiting), plan(route, state, waiting, now) if state else None


def try_routes(
    routes: Sequence[Route],
    data_dir: str,
    environ: Mapping[str, str] | None = None,
    send_one: Callable[[Target, Message], SendResult] = send,
) -> list[TestResult]:
    """Send a sample alert (marked TEST) through every destination of these routes.

    Nothing is written anywhere: this only says, per destination, whether it works.
    """
    results = []
    for route in routes:
        where = Where(data_dir, route.report_url)
        for target in resolve(route, environ).targets:
            message = _as_test(render_event(sample_event(), where, target.style))
            outcome = send_one(target, message)
            results.append(TestResult(route.name, target.key, outcome.ok, outcome.error))
    return results


def _as_test(message: Message) -> Message:
    return Message(
        message.title.replace("[monitor]", "[monitor TEST]", 1), message.body, message.format
    )


def _what(group: Sequence[Due]) -> str:
    changes = sum(len(d.changes) for d in group)
    if len(group) > 1:
        return f"a catch-up of {len(group)} messages ({changes} events)"
    kind = group[0].kind
    return f"change #{group[0].changes[0]}" if kind == "event" else f"a {kind} of {changes} events"


def event_message(event: Event, style: str, data_dir: str) -> Message:
    """One event rendered as a destination of this style would get it (for the demo)."""
    return render_event(event, Where(data_dir), style)  # type: ignore[arg-type]
