"""The planner: which messages a route sends for the events after its cursor (a table)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.config.routes import parse_route
from monitor.notify.plan import Candidate, PlannedMessage, RouteState, digest_boundary, plan

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
URL = {"urls": ["json://127.0.0.1:9/hook"]}


def events(*spec: tuple[int, bool], at: datetime = T0) -> list[Candidate]:
    return [Candidate(i, at, wanted) for i, wanted in spec]


def ev(*ids: int) -> tuple[PlannedMessage, ...]:
    return tuple(PlannedMessage("event", (i,)) for i in ids)


CASES = [
    # id, route options, state, inbox, seconds after T0, batch complete, messages, cursor, held
    ("nothing new", {}, {}, [], 0, False, (), 10, None),
    (
        "unwanted only: cursor moves",
        {},
        {},
        events((11, False), (12, False)),
        0,
        False,
        (),
        12,
        None,
    ),
    ("waits after the first event", {}, {}, events((11, True)), 30, False, (), 10, "wait"),
    ("sent once the wait is over", {}, {}, events((11, True)), 61, False, ev(11), 11, None),
    ("end of a check: no wait", {}, {}, events((11, True)), 0, True, ev(11), 11, None),
    ("wait 0 sends at once", {"wait": 0}, {}, events((11, True)), 0, False, ev(11), 11, None),
    (
        "unwanted before a held one: cursor parks before it",
        {},
        {},
        events((11, False), (12, True), (13, False)),
        5,
        False,
        (),
        11,
        "wait",
    ),
    (
        "a few events: one message each",
        {"summarize_over": 3},
        {},
        events((11, True), (12, False), (13, True), (14, True)),
        0,
        True,
        ev(11, 13, 14),
        14,
        None,
    ),
    (
        "a storm: one summary",
        {"summarize_over": 3},
        {},
        events(*[(i, True) for i in range(11, 511)]),
        0,
        True,
        (PlannedMessage("summary", tuple(range(11, 511))),),
        510,
        None,
    ),
    (
        "rate limit reached: held",
        {"rate_limit": "2/1h"},
        {"sent_in_window": 2},
        events((11, True)),
        0,
        True,
        (),
        10,
        "rate",
    ),
    (
        "rate limit nearly reached: two events become one summary",
        {"rate_limit": "3/1h"},
        {"sent_in_window": 2},
        events((11, True), (12, True)),
        0,
        True,
        (PlannedMessage("summary", (11, 12)),),
        12,
        None,
    ),
    (
        "digest: period not over",
        {"digest": "6h"},
        {"last_digest_at": T0 + timedelta(minutes=1)},
        events((11, True)),
        3600,
        True,
        (),
        10,
        "digest",
    ),
    (
        "digest: a new period began: one message for all",
        {"digest": "6h"},
        {"last_digest_at": T0 - timedelta(hours=1)},
        events((11, True), (12, True), (13, True)),
        0,
        False,
        (PlannedMessage("digest", (11, 12, 13)),),
        13,
        None,
    ),
    (
        "digest: a route created in this period waits for the next",
        {"digest": "1d"},
        {"created_at": T0 - timedelta(hours=2)},
        events((11, True)),
        0,
        True,
        (),
        10,
        "digest",
    ),
]


@pytest.mark.parametrize(
    "options, state, inbox, offset, complete, messages, cursor, held",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_plan(options, state, inbox, offset, complete, messages, cursor, held) -> None:
    route = parse_route({"name": "r", **URL, **options})
    base = {"cursor": 10, "created_at": T0 - timedelta(days=7), **state}
    decided = plan(route, RouteState(**base), inbox, T0 + timedelta(seconds=offset), complete)
    assert decided.messages == messages
    assert decided.cursor == cursor
    assert decided.held_because == held
    if held:
        assert decided.held == sum(c.wanted for c in inbox)


def test_a_storm_never_exceeds_the_rate_limit() -> None:
    """Events trickling in for a day: never more messages per hour than the limit."""
    route = parse_route({"name": "r", **URL, "rate_limit": "4/1h", "wait": "1m"})
    state = RouteState(cursor=0, created_at=T0 - timedelta(days=1))
    sent: list[datetime] = []
    inbox: list[Candidate] = []
    covered = 0
    for minute in range(24 * 60):
        now = T0 + timedelta(minutes=minute)
        inbox.append(Candidate(minute + 1, now, True))  # one event a minute
        window = sum(1 for t in sent if t > now - timedelta(hours=1))
        state = RouteState(state.cursor, state.created_at, None, window)
        decided = plan(route, state, [c for c in inbox if c.id > state.cursor], now)
        for message in decided.messages:
            sent.append(now)
            covered += len(message.changes)
        state = RouteState(decided.cursor, state.created_at)
    assert max(sum(1 for t in sent if s <= t < s + timedelta(hours=1)) for s in sent) <= 4
    assert covered >= 24 * 60 - 60  # every event goes out (the last few may still wait)


def test_an_empty_digest_period_is_closed() -> None:
    route = parse_route({"name": "r", **URL, "digest": "6h"})
    state = RouteState(cursor=10, created_at=T0 - timedelta(days=2))
    decided = plan(route, state, [], T0)
    assert decided.last_digest_at == T0  # an event at 13:00 waits for 18:00


def test_digest_boundaries_are_utc_aligned() -> None:
    assert digest_boundary(datetime(2026, 3, 1, 23, 59, tzinfo=UTC), 86400) == datetime(
        2026, 3, 1, tzinfo=UTC
    )
    assert digest_boundary(datetime(2026, 3, 1, 5, 0, tzinfo=UTC), 6 * 3600).hour == 0
