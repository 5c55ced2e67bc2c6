"""Page events: one event per episode, never a storm."""

from __future__ import annotations

from monitor.analysis.compare import Comparison, Fragment
from monitor.analysis.events import (
    DEFAULT_THRESHOLDS,
    Observation,
    Thresholds,
    WatchState,
    transition,
)
from monitor.model import Outcome

BLOCKED, GONE, NOT_MODIFIED = Outcome.BLOCKED, Outcome.GONE, Outcome.NOT_MODIFIED
OK, SELECTOR_MISSING, TRANSIENT = Outcome.OK, Outcome.SELECTOR_MISSING, Outcome.TRANSIENT

CHANGE = Comparison(removed=(Fragment("、是否是维族", (), "text", "x"),))


def run(outcomes: list[Observation], limits: Thresholds = DEFAULT_THRESHOLDS) -> list[list[str]]:
    state = WatchState()
    kinds = []
    for seen in outcomes:
        state, events = transition(state, seen, limits)
        kinds.append([e.kind for e in events])
    return kinds


def ok(n: int, url: str = "https://x/a", comparison: Comparison | None = None) -> Observation:
    return Observation(n, OK, f"b{n}", f"t{n}", url, comparison=comparison)


def test_first_capture_is_silent_and_change_is_reported() -> None:
    assert run([ok(1), ok(2, comparison=CHANGE)]) == [[], ["changed"]]


def test_flapping_server_gives_one_unreachable_and_one_restored() -> None:
    seen = [ok(1)] + [Observation(n, TRANSIENT) for n in range(2, 8)] + [ok(8)]
    assert run(seen) == [[], [], [], ["unreachable"], [], [], [], ["restored"]]


def test_failures_below_threshold_are_silent() -> None:
    seen = [ok(1), Observation(2, TRANSIENT), Observation(3, TRANSIENT), ok(4)]
    assert run(seen) == [[], [], [], []]


def test_gone_needs_two_consecutive_checks() -> None:
    seen = [
        ok(1),
        Observation(2, GONE),
        ok(3),
        Observation(4, GONE),
        Observation(5, GONE),
        Observation(6, GONE),
        ok(7),
    ]
    assert run(seen) == [[], [], [], [], ["gone"], [], ["restored"]]


def test_gone_keeps_the_last_good_capture_as_reference() -> None:
    state = WatchState()
    for seen in [ok(1), Observation(2, GONE), Observation(3, GONE)]:
        state, _ = transition(state, seen)
    state, events = transition(state, ok(4, comparison=CHANGE))
    assert [(e.kind, e.from_capture) for e in events] == [("restored", 2), ("changed", 1)]


def test_blocked_and_selector_missing_are_confirmed_then_one_event_each() -> None:
    seen = [
        ok(1),
        Observation(2, BLOCKED),
        Observation(3, BLOCKED),
        Observation(4, BLOCKED),
        ok(5),
        Observation(6, SELECTOR_MISSING),
        Observation(7, SELECTOR_MISSING),
        ok(8),
    ]
    assert run(seen) == [
        [],
        [],
        ["blocked"],
        [],
        ["restored"],
        [],
        ["selector_missing"],
        ["restored"],
    ]


def test_a_cdn_that_blocks_every_other_request_is_not_an_alert_storm() -> None:
    seen = [ok(1)] + [Observation(n, BLOCKED) if n % 2 else ok(n) for n in range(2, 12)]
    assert run(seen) == [[]] * 11


def test_redirect_target_change_is_moved() -> None:
    assert run([ok(1, "https://x/a"), ok(2, "https://x/b")]) == [[], ["moved"]]


def test_rotating_tracking_parameters_are_not_a_move() -> None:
    seen = [ok(1, "https://x/doc?spm=a1"), ok(2, "https://x/doc?spm=b2"), ok(3, "https://x/doc")]
    assert run(seen) == [[], [], []]


def test_not_modified_keeps_reference() -> None:
    state, _ = transition(WatchState(), ok(1))
    state, events = transition(state, Observation(2, NOT_MODIFIED))
    assert events == [] and state.reference == 1


def test_revert_gives_two_change_events() -> None:
    assert run([ok(1), ok(2, comparison=CHANGE), ok(3, comparison=CHANGE)]) == [
        [],
        ["changed"],
        ["changed"],
    ]


def test_incomplete_is_at_once_for_a_parser_limit_and_confirmed_for_a_time_budget() -> None:
    def incomplete(n: int, limit: str) -> Observation:
        return Observation(n, Outcome.INCOMPLETE, f"b{n}", detail={"limit": limit})

    seen = [
        ok(1),
        incomplete(2, "parser_limit"),
        incomplete(3, "parser_limit"),
        ok(4),
        incomplete(5, "decoding"),
        ok(6),
        incomplete(7, "time_budget"),
        ok(8),
        incomplete(9, "time_budget"),
        incomplete(10, "time_budget"),
    ]
    at_once = [[], ["incomplete"], [], ["restored"], ["incomplete"], ["restored"]]
    confirmed = [[], [], [], ["incomplete"]]  # a budget overrun once, then twice in a row
    assert run(seen) == at_once + confirmed


def test_incomplete_keeps_the_last_good_capture_as_reference() -> None:
    state = WatchState()
    seen = [ok(1), Observation(2, Outcome.INCOMPLETE, "b2", detail={"limit": "parser_limit"})]
    for observation in seen:
        state, _ = transition(state, observation)
    assert (state.reference, state.reference_text) == (1, "t1")
    state, events = transition(state, ok(3, comparison=CHANGE))
    assert [(e.kind, e.from_capture) for e in events] == [("restored", 2), ("changed", 1)]
