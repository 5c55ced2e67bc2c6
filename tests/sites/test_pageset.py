"""Page-set decisions of a discovery run, as a table: known pages, this run's listing,
the direct checks of missing pages -> page records and events."""

from __future__ import annotations

import pytest

from monitor.analysis.pageset import (
    DirectCheck,
    Page,
    PageStatus,
    plan,
    rescope,
    settle,
)

A, B, C, D = (f"https://d.example/zh/{x}.html" for x in "abcd")


def _name(url: str) -> str:
    return "s." + url.rsplit("/", 1)[1].split(".")[0]


def _run(known, listed, checks=None, *, complete=True, baseline=False, max_pages=100):
    return settle(
        known,
        {url: 7 for url in listed},
        checks or {},
        complete=complete,
        baseline=baseline,
        max_pages=max_pages,
        name_for=_name,
        run_capture=7,
    )


def _events(settlement):
    return [(e.kind, e.watch, e.url) for e in settlement.events]


def _statuses(settlement):
    return {p.watch: (p.status, p.url, p.missing_runs) for p in settlement.pages}


def test_baseline_adds_every_page_without_events():
    s = _run([], [A, B], baseline=True)
    assert _events(s) == []
    assert _statuses(s) == {"s.a": ("active", A, 0), "s.b": ("active", B, 0)}


def test_a_new_page_is_added_with_an_event():
    s = _run([Page(A, "s.a", listed_capture=7)], [A, B])
    assert _events(s) == [("page_added", "s.b", B)]
    assert s.events[0].to_capture == 7 and s.events[0].from_capture is None


CASES = [
    # (id, missing page's direct check, missing_runs before, expected status, events)
    ("first miss, still served: wait", DirectCheck("ok", B), 0, "missing", []),
    (
        "second miss, still served: removed",
        DirectCheck("ok", B, capture=9),
        1,
        "removed",
        [("page_removed", "s.b", B)],
    ),
    ("404 not yet confirmed by the watch: wait", DirectCheck("gone", B), 1, "missing", []),
    (
        "404 confirmed by the watch: gone, no second event",
        DirectCheck("gone", B, True),
        1,
        "gone",
        [],
    ),
    ("unreachable: wait, whatever the count", DirectCheck("transient"), 5, "missing", []),
    ("bot wall: wait", DirectCheck("blocked", B), 3, "missing", []),
    (
        "redirected outside the site, confirmed: removed",
        DirectCheck("ok", "https://d.example/", events=("moved",)),
        1,
        "removed",
        [("page_removed", "s.b", B)],
    ),
]


@pytest.mark.parametrize(
    ("check", "runs", "status", "events"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_missing_pages(check, runs, status, events):
    known = [Page(A, "s.a"), Page(B, "s.b", PageStatus.MISSING if runs else "active", runs, 3)]
    s = _run(known, [A], {B: check})
    assert _events(s) == events
    assert _statuses(s)["s.b"][0] == status
    assert _statuses(s)["s.b"][2] == runs + 1
    if events:
        assert s.events[0].from_capture == 3 and s.events[0].to_capture == 7


def test_a_rename_is_a_move_not_a_removal_plus_an_addition():
    known = [Page(A, "s.a"), Page(B, "s.b", listed_capture=3)]
    s = _run(known, [A, C], {B: DirectCheck("ok", C, capture=11)})
    assert _events(s) == [("moved", "s.b", B)]
    assert s.events[0].detail == {"from_url": B, "to_url": C}
    assert s.events[0].to_capture == 11
    assert _statuses(s)["s.b"] == ("active", C, 0)
    assert s.renamed == {"s.b": C}


def test_a_rename_the_watch_already_reported_adds_no_second_moved():
    known = [Page(A, "s.a"), Page(B, "s.b")]
    s = _run(known, [A, C], {B: DirectCheck("ok", C, events=("moved", "changed"))})
    assert _events(s) == []
    assert _statuses(s)["s.b"] == ("active", C, 0)


def test_a_rename_onto_a_page_already_watched_retires_the_old_watch():
    known = [Page(A, "s.a"), Page(B, "s.b"), Page(C, "s.c")]
    s = _run(known, [A, C], {B: DirectCheck("ok", C)})
    assert _events(s) == [("moved", "s.b", B)]
    assert _statuses(s)["s.b"][0] == "moved"


def test_an_incomplete_run_counts_nothing_missing_but_adds():
    known = [Page(A, "s.a"), Page(B, "s.b", PageStatus.MISSING, 1)]
    s = _run(known, [C], {}, complete=False)
    assert _events(s) == [("page_added", "s.c", C)]
    assert "s.b" not in _statuses(s)  # untouched
    assert plan(known, {C: 1}, complete=False).missing == []


def test_a_missing_page_listed_again_is_active_without_an_event():
    known = [Page(A, "s.a"), Page(B, "s.b", PageStatus.MISSING, 1)]
    s = _run(known, [A, B])
    assert _events(s) == []
    assert _statuses(s)["s.b"] == ("active", B, 0)


def test_a_removed_page_that_returns_is_added_again_under_its_old_name():
    known = [Page(A, "s.a"), Page(B, "s.b", PageStatus.REMOVED, 2)]
    s = _run(known, [A, B])
    assert _events(s) == [("page_added", "s.b", B)]
    assert s.events[0].detail == {"returned": True, "was": "removed"}


def test_max_pages_keeps_known_pages_and_counts_the_rest():
    known = [Page(A, "s.a"), Page(B, "s.b")]
    s = _run(known, [A, B, C, D], max_pages=3)
    assert _events(s) == [("page_added", "s.c", C)]
    assert s.over_limit == 1


def test_retired_pages_free_room_under_the_limit():
    known = [Page(A, "s.a"), Page(B, "s.b", PageStatus.MISSING, 1)]
    s = _run(known, [A, C], {B: DirectCheck("ok", B)}, max_pages=2)
    assert _events(s) == [("page_removed", "s.b", B), ("page_added", "s.c", C)]


def test_rescope_retires_pages_the_new_rules_leave_out():
    retired = rescope([Page(A, "s.a"), Page(B, "s.b")], lambda url: url != B)
    assert [(p.watch, p.status) for p in retired] == [("s.b", "out_of_scope")]
