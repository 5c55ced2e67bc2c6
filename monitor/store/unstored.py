"""A check whose evidence could not be stored: recorded as such, or said loudly.

On a full disk a check cannot keep the page's bytes. It must not vanish either: the
fact is recorded as a capture with outcome ``error`` and a reason saying what to do,
and the watch's state is left alone, so that the next check (with room again)
compares with the last good capture as if this one had not happened, and no
``unreachable`` episode is counted for what is the operator's disk, not the page.
When even that row cannot be written, the result says "not recorded" and
``monitor check`` exits with status 1.
"""

from __future__ import annotations

import logging

from ..errors import StoreError
from ..model import Capture, CheckResult, Outcome
from .base import CaptureRecord, EvidenceStore

log = logging.getLogger(__name__)


def record_unstored(
    store: EvidenceStore, watch: str, capture: Capture, error: StoreError
) -> CheckResult:
    """Record that a fetched page could not be stored (its bytes are not kept)."""
    got = f"HTTP {capture.status}, {len(capture.body)} bytes" if capture.status else "no response"
    reason = f"fetched ({got}) but not stored: {error}"
    record = CaptureRecord.of(watch, capture, Outcome.ERROR, None, error=reason)
    try:
        with store.recording() as writer:
            capture_id = writer.add_capture(record)  # the state is left as it was
    except StoreError as again:
        return not_recorded(watch, again)
    log.warning("%s: %s", watch, reason)
    return CheckResult(
        watch, Outcome.ERROR, capture_id=capture_id, reason=reason, attempts=capture.attempts
    )


def not_recorded(watch: str, error: StoreError) -> CheckResult:
    """A check of which nothing could be written: ``monitor check`` exits with 1."""
    log.error("%s: not recorded: %s", watch, error)
    return CheckResult(watch, Outcome.ERROR, error=f"not recorded: {error}")
