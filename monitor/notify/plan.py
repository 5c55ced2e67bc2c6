"""Which messages a route sends now, for the events after its cursor (pure, no I/O).

A route's cursor is the last change id it has considered. Change rows are append-only
and committed with their check, so "events after the cursor" is the route's inbox, and
moving the cursor in the same transaction that writes the messages makes planning
exactly-once (see outbox.py). This module only decides:

- a **digest** route sends one message per period (periods are aligned to UTC: a 6h
  digest closes at 00:00, 06:00, 12:00 and 18:00 UTC), when the period has events;
- an **immediate** route waits ``wait`` after the first new event, so that events
  arriving together travel together (in ``monitor check`` the batch is complete at the
  end of the check, and nothing waits);
- either way, at most ``rate_limit`` messages per period leave a route, and more
  events than ``summarize_over`` (or than the rate limit still allows) become one
  summary message. A storm of 500 events is one message, by construction.

>>> from datetime import timedelta
>>> route = Route("r", urls=("json://h/p",), wait_seconds=60, summarize_over=3)
>>> t0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
>>> state = RouteState(cursor=10, created_at=t0 - timedelta(days=1))
>>> inbox = [Candidate(11, t0, True), Candidate(12, t0, False), Candidate(13, t0, True)]
>>> plan(route, state, inbox, t0 + timedelta(seconds=30)).held_because
'wait'
>>> decided = plan(route, state, inbox, t0 + timedelta(seconds=61))
>>> decided.messages, decided.cursor
((PlannedMessage(kind='event', changes=(11,)), PlannedMessage(kind='event', changes=(13,))), 13)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from ..config.routes import Route

MessageKind = Literal["event", "summary", "digest"]


@dataclass(frozen=True, slots=True)
class RouteState:
    """What the outbox remembers of a route between passes."""

    cursor: int  # last change id considered
    created_at: datetime  # when the route was first seen: it starts from then
    last_digest_at: datetime | None = None  # when the last digest period was closed
    sent_in_window: int = 0  # messages planned within the last rate-limit period


@dataclass(frozen=True, slots=True)
class Candidate:
    """A change after the cursor: its id, its time, and whether the route wants it."""

    id: int
    detected_at: datetime
    wanted: bool


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    kind: MessageKind
    changes: tuple[int, ...]


@dataclass(frozen=True)
class Plan:
    messages: tuple[PlannedMessage, ...]
    cursor: int
    last_digest_at: datetime | None
    held: int = 0  # wanted events left for a later pass
    held_because: str | None = None  # wait | rate | digest
    due_at: datetime | None = None  # when the held events may go (None: unknown)


def digest_boundary(now: datetime, period: float) -> datetime:
    """The start of the digest period that contains ``now`` (UTC-aligned).

    >>> digest_boundary(datetime(2026, 1, 1, 13, 30, tzinfo=UTC), 6 * 3600)
    datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)
    """
    seconds = now.timestamp()
    return datetime.fromtimestamp(math.floor(seconds / period) * period, UTC)


def plan(
    route: Route,
    state: RouteState,
    inbox: Sequence[Candidate],
    now: datetime,
    batch_complete: bool = False,
) -> Plan:
    """Decide the messages for this pass; ``inbox`` holds the changes after the cursor."""
    wanted = [c for c in inbox if c.wanted]
    newest = max((c.id for c in inbox), default=state.cursor)
    if not wanted:
        return Plan((), newest, _close_empty_period(route, state, now))
    # Unwanted changes before the first wanted one need no second look.
    first_wanted = wanted[0].id
    parked = max([c.id for c in inbox if c.id < first_wanted], default=state.cursor)
    budget = route.rate_count - state.sent_in_window
    if route.digest_seconds is not None:
        return _digest(route, state, wanted, newest, parked, now, budget)
    if not batch_complete and route.wait_seconds > 0:
        ready_at = wanted[0].detected_at + timedelta(seconds=route.wait_seconds)
        if now < ready_at:
            return _hold(state, parked, len(wanted), "wait", ready_at)
    if budget <= 0:
        return _hold(state, parked, len(wanted), "rate", None)
    ids = tuple(c.id for c in wanted)
    if len(ids) <= min(route.summarize_over, budget):
        messages = tuple(PlannedMessage("event", (i,)) for i in ids)
    else:
        messages = (PlannedMessage("summary", ids),)
    return Plan(messages, newest, state.last_digest_at)


def _digest(
    route: Route,
    state: RouteState,
    wanted: list[Candidate],
    newest: int,
    parked: int,
    now: datetime,
    budget: int,
) -> Plan:
    assert route.digest_seconds is not None
    boundary = digest_boundary(now, route.digest_seconds)
    closed = state.last_digest_at or state.created_at
    if closed >= boundary:  # this period's digest has gone, or the route began in it
        due = boundary + timedelta(seconds=route.digest_seconds)
        return _hold(state, parked, len(wanted), "digest", due)
    if budget <= 0:
        return _hold(state, parked, len(wanted), "rate", None)
    # Events of the period just closed and of the new one so far go together: none waits
    # longer than one period.
    return Plan((PlannedMessage("digest", tuple(c.id for c in wanted)),), newest, now)


def _close_empty_period(route: Route, state: RouteState, now: datetime) -> datetime | None:
    """A digest period that ends with nothing to send is closed all the same, so that an
    event arriving later waits for the next boundary rather than going out at once."""
    if route.digest_seconds is None:
        return state.last_digest_at
    closed = state.last_digest_at or state.created_at
    return now if closed < digest_boundary(now, route.digest_seconds) else state.last_digest_at


def _hold(state: RouteState, parked: int, held: int, why: str, due: datetime | None) -> Plan:
    return Plan((), parked, state.last_digest_at, held, why, due)
