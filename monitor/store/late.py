"""A capture that arrives after a newer one of its watch: kept as evidence, not compared.

Two checks of one watch can overlap when the data directory's lock is bypassed (two
machines on one PostgreSQL store, ``monitor check --data-dir`` on a copy being merged).
If check B fetched version 2 after check A fetched version 1, but recorded first, A's
page is older than the watch's reference: comparing it would report the edit backwards
(wording "removed" that was in fact added). A's capture is recorded, bytes and all, but
derives no event and leaves the watch's state as B left it.
"""

from __future__ import annotations

from dataclasses import replace

from ..model import CheckResult, Outcome
from .base import CaptureRecord, CheckWriter

LATE_REASON = (
    "fetched before the latest recorded capture of this watch (recorded by another "
    "check); kept as evidence, not compared"
)


def fetched_before_latest(writer: CheckWriter, record: CaptureRecord) -> bool:
    """Inside the recording transaction: has a capture fetched later been recorded?"""
    latest = writer.latest_fetched_at(record.watch)
    return latest is not None and latest > record.fetched_at


def as_late(record: CaptureRecord) -> CaptureRecord:
    """The row says why it was not compared (after any decoding note of its own)."""
    return replace(record, error=f"{record.error}; {LATE_REASON}" if record.error else LATE_REASON)


def kept_as_evidence(watch: str, outcome: Outcome, capture_id: int, attempts: int) -> CheckResult:
    return CheckResult(watch, outcome, capture_id=capture_id, reason=LATE_REASON, attempts=attempts)
