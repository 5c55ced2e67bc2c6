"""Two checks of one watch that overlap: the one that fetched earlier records last.

Check B fetched a newer page and recorded first (the reference moved to it); check A,
which fetched an older page before B, then records. A's capture is kept as evidence
(its row and bytes) but compared with nothing: comparing it against B's page would
report B's edit backwards ("removed" wording that was in fact added). Deterministic:
A's examination against the old reference is reproduced by handing it the state read
before B recorded, with no threads or sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_contract import T0, Backend, open_backend

from monitor.check import Checker
from monitor.config.watchlist import Watch
from monitor.model import Capture, EventKind, Outcome
from monitor.store.late import LATE_REASON

WATCH = Watch("w", "https://x.example/a")


def page(version: int) -> bytes:
    rows = "".join(f"<p>条款 {i}: 版本 {version if i == 3 else 0}</p>" for i in range(6))
    html = f"<html><head><title>Policy</title></head><body><main>{rows}</main></body></html>"
    return html.encode()


def fetched(body: bytes, at: datetime) -> Capture:
    headers = (("Content-Type", "text/html; charset=utf-8"),)
    return Capture(WATCH.url, at, 200, WATCH.url, headers, body)


@pytest.fixture(params=["sqlite", "postgres+dir"])
def either(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    yield from open_backend(request, tmp_path, {})  # watch "w" at WATCH.url


LATE_CASES: list[tuple[str, int, int, bool]] = [
    # (case, A's page, hours after T0 that A fetched it (B fetched at 2), A kept uncompared)
    ("A fetched an older page before B: kept, not compared", 1, 1, True),
    ("A fetched B's very page, earlier than B: kept, not compared", 2, 1, True),
    ("A fetched an older page after B: examined again, a forward change", 1, 3, False),
]


@pytest.mark.parametrize(
    ("case", "version", "hours", "kept"), LATE_CASES, ids=[c[0] for c in LATE_CASES]
)
def test_a_capture_fetched_before_the_latest_is_evidence_only(
    either: Backend, case: str, version: int, hours: int, kept: bool
) -> None:
    store: Any = either.store
    checker = Checker(store, fetcher=None)  # type: ignore[arg-type]
    try:
        checker.process(WATCH, fetched(page(0), T0))
        before_b = store.state(WATCH.name)  # what A examined its page against
        b = checker.process(WATCH, fetched(page(2), T0 + timedelta(hours=2)), None, before_b)
        assert b.events == (EventKind.CHANGED,)
        after_b = store.state(WATCH.name)
        a_capture = fetched(page(version), T0 + timedelta(hours=hours))
        a = checker.process(WATCH, a_capture, None, before_b)
    finally:
        checker.close()

    assert a.capture_id is not None and a.error is None
    row = store.capture(a.capture_id)
    assert store.get_blob(row["body_sha256"]) == page(version)  # nothing lost
    changes = store.changes(watch=WATCH.name)
    if kept:
        assert a.events == () and a.change_ids == ()
        assert a.outcome == Outcome.OK and a.reason == LATE_REASON
        assert row["error"] == LATE_REASON  # the row says why it was not compared
        assert store.state(WATCH.name) == after_b
        assert [c["to_capture"] for c in changes] == [b.capture_id]
    else:  # B's page is the reference now; A's later fetch is a change from it
        assert a.events == (EventKind.CHANGED,) and a.reason is None
        assert store.state(WATCH.name).reference == a.capture_id
        assert changes[-1]["from_capture"] == b.capture_id


def test_the_next_check_after_a_late_capture_compares_with_the_latest(either: Backend) -> None:
    store: Any = either.store
    checker = Checker(store, fetcher=None)  # type: ignore[arg-type]
    try:
        checker.process(WATCH, fetched(page(0), T0))
        before_b = store.state(WATCH.name)
        b = checker.process(WATCH, fetched(page(2), T0 + timedelta(hours=2)), None, before_b)
        checker.process(WATCH, fetched(page(1), T0 + timedelta(hours=1)), None, before_b)
        same = checker.process(WATCH, fetched(page(2), T0 + timedelta(hours=3)))
        later = checker.process(WATCH, fetched(page(3), T0 + timedelta(hours=4)))
    finally:
        checker.close()
    assert same.outcome == Outcome.UNCHANGED and same.events == ()
    assert later.events == (EventKind.CHANGED,) and later.reason is None
    last = store.change(later.change_ids[0])
    assert (last["from_capture"], last["to_capture"]) == (b.capture_id, later.capture_id)
