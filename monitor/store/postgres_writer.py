"""The writes of one check on the PostgreSQL store, inside one transaction.

Kept apart from postgres.py (the store: connections, reading, verification) because this
is where the concurrency rules of many workers meet the database: the watch's row is
locked when its state is read, a distributed run's key is written with its capture, and
the database's refusals (a stale reference, a second event from one reference, a run
already recorded) become typed errors.
"""

from __future__ import annotations

import contextvars
import json
from typing import Any

import psycopg

from ..analysis.events import EventDraft, WatchState
from ..errors import StoreError
from .base import CaptureRecord

# The run key of the distributed check being recorded in this context (watch and due
# time), set by the worker around a check; None for checks run by `check` and `run`.
CHECK_RUN: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "monitor_check_run", default=None
)

_STALE_REFERENCE = "MN002"  # raised by the changes_from_reference trigger
_UNIQUE_VIOLATION = "23505"  # changes_one_per_reference: a second event from one reference


class StaleReferenceError(StoreError):
    """A check decided its events against a reference another worker has since moved."""


class AlreadyRecordedError(StoreError):
    """This distributed check run was already recorded (a retried job): nothing written."""


class _Writer:
    """The writes of one check, inside :meth:`PostgresStore.recording`'s transaction."""

    def __init__(self, conn: psycopg.Connection[dict[str, Any]], run_key: str | None) -> None:
        self._conn = conn
        self._run_key = run_key

    def state(self, watch: str) -> WatchState:
        # FOR UPDATE: another worker's check of this watch waits for our commit.
        row = self._conn.execute(
            "SELECT state FROM watches WHERE name = %s FOR UPDATE", (watch,)
        ).fetchone()
        if row is None:
            raise StoreError(f"watch {watch!r} is not registered; call ensure_watches first")
        return WatchState.from_dict(json.loads(row["state"]))

    def add_capture(self, capture: CaptureRecord) -> int:
        row = self._conn.execute(
            "INSERT INTO captures (watch, url, fetched_at, status, final_url, headers, "
            "redirects, body_sha256, body_size, text_sha256, encoding, elapsed_ms, "
            "attempts, outcome, error_class, error, fetched_with, source_capture, "
            "screenshot_sha256) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "%s, %s, %s, %s, %s, %s) RETURNING id",
            (
                capture.watch,
                capture.url,
                capture.fetched_at,
                capture.status,
                capture.final_url,
                json.dumps([list(h) for h in capture.headers], ensure_ascii=False),
                json.dumps([list(r) for r in capture.redirects], ensure_ascii=False),
                capture.body_sha256,
                capture.body_size,
                capture.text_sha256,
                capture.encoding,
                capture.elapsed_ms,
                capture.attempts,
                str(capture.outcome),
                capture.error_class and str(capture.error_class),
                capture.error,
                capture.fetched_with,
                capture.source_capture,
                capture.screenshot_sha256,
            ),
        ).fetchone()
        assert row is not None
        capture_id = int(row["id"])
        if self._run_key is not None:
            # No savepoint: raising rolls the whole check back, which is what we want.
            claimed = self._conn.execute(
                "INSERT INTO check_runs (key, capture_id) VALUES (%s, %s) "
                "ON CONFLICT (key) DO NOTHING RETURNING key",
                (self._run_key, capture_id),
            ).fetchone()
            if claimed is None:
                raise AlreadyRecordedError(
                    f"check run {self._run_key} is already recorded; nothing written"
                )
        return capture_id

    def add_change(self, capture: CaptureRecord, draft: EventDraft) -> int:
        try:  # an error aborts the transaction: the whole check is rolled back
            row = self._conn.execute(
                "INSERT INTO changes (watch, kind, detected_at, from_capture, to_capture, "
                "removed, added, flags, detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "RETURNING id",
                (
                    capture.watch,
                    str(draft.kind),
                    capture.fetched_at,
                    draft.from_capture,
                    draft.to_capture,
                    json.dumps(list(draft.removed), ensure_ascii=False),
                    json.dumps(list(draft.added), ensure_ascii=False),
                    json.dumps([f.to_dict() for f in draft.flags], ensure_ascii=False),
                    json.dumps(draft.detail, ensure_ascii=False),
                ),
            ).fetchone()
        except psycopg.Error as error:
            if error.sqlstate not in (_STALE_REFERENCE, _UNIQUE_VIOLATION):
                raise
            raise StaleReferenceError(
                f"{capture.watch}: a {draft.kind} event from capture {draft.from_capture} "
                "was refused: another check moved the reference first"
            ) from error
        assert row is not None
        return int(row["id"])

    def set_state(self, watch: str, state: WatchState) -> None:
        self._conn.execute(
            "UPDATE watches SET state = %s, reference = %s WHERE name = %s",
            (json.dumps(state.to_dict()), state.reference, watch),
        )
