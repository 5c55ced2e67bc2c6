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
from datetime import datetime
from typing import Any

import psycopg

from ..analysis.events import EventDraft, WatchState
from ..errors import StoreError
from ..evidence.chain import Head, chain_hash
from ..model import EventKind, iso
from .base import CaptureRecord
from .failures import StaleReferenceError
from .postgres_archives import PostgresArchiveWrites
from .postgres_compat import CompatConnection

# The run key of the distributed check being recorded in this context (watch and due
# time), set by the worker around a check; None for checks run by `check` and `run`.
CHECK_RUN: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "monitor_check_run", default=None
)

_STALE_REFERENCE = "MN002"  # raised by the changes_from_reference trigger
_UNIQUE_VIOLATION = "23505"  # changes_one_per_reference: a second event from one reference


__all__ = ["CHECK_RUN", "AlreadyRecordedError", "StaleReferenceError"]


class AlreadyRecordedError(StoreError):
    """This distributed check run was already recorded (a retried job): nothing written."""


_CAPTURE_FIELDS = (
    "id", "watch", "url", "fetched_at", "status", "final_url", "headers", "redirects",
    "body_sha256", "body_size", "text_sha256", "encoding", "elapsed_ms", "attempts", "outcome",
    "error_class", "error", "fetched_with", "source_capture", "screenshot_sha256",
    "chain_seq", "chain_hash", "source", "archived_at", "archive_url", "archive_digest",
)  # fmt: skip
_CHANGE_FIELDS = (
    "id", "watch", "kind", "detected_at", "from_capture", "to_capture", "removed", "added",
    "flags", "detail", "chain_seq", "chain_hash", "derived_from",
)  # fmt: skip


def _insert(table: str, fields: tuple[str, ...]) -> str:
    names = ", ".join(fields)
    return f"INSERT INTO {table} ({names}) VALUES ({', '.join('%(' + f + ')s' for f in fields)})"


_INSERT_CAPTURE = _insert("captures", _CAPTURE_FIELDS)
_INSERT_CHANGE = _insert("changes", _CHANGE_FIELDS)


class _Writer(PostgresArchiveWrites):
    """The writes of one check, inside :meth:`PostgresStore.recording`'s transaction.

    Rows are chained as they are written: ids are drawn first (the chain covers them),
    and the first chained row locks the chain's head row until the commit, so that
    concurrent writers extend one chain in commit order (:meth:`finish` moves the head).
    """

    def __init__(self, conn: psycopg.Connection[dict[str, Any]], run_key: str | None) -> None:
        self._conn = conn
        self._run_key = run_key
        self._head: Head | None = None  # locked and read at the first chained row
        self._moved = False

    def _next_id(self, table: str) -> int:
        row = self._conn.execute(f"SELECT nextval('{table}_id_seq') AS id").fetchone()
        assert row is not None
        return int(row["id"])

    def _lock_head(self) -> Head:
        """Lock the chain's head row until the commit (taken once per transaction)."""
        if self._head is None:
            locked = self._conn.execute("SELECT seq, hash FROM chain_head FOR UPDATE").fetchone()
            assert locked is not None
            self._head = Head(int(locked["seq"]), str(locked["hash"]))
        return self._head

    def _chain(self, record_type: str, row: dict[str, Any]) -> None:
        """Give a row its chain position and hash (monitor/evidence/chain.py)."""
        self._head = self._lock_head()
        seq = self._head.seq + 1
        row["chain_seq"] = seq
        row["chain_hash"] = chain_hash(self._head.hash, record_type, seq, row)
        self._head = Head(seq, row["chain_hash"])
        self._moved = True

    def finish(self) -> None:
        """Before the commit: the head moves to this transaction's last record."""
        if self._moved and self._head is not None:
            self._conn.execute(
                "UPDATE chain_head SET seq = %s, hash = %s", (self._head.seq, self._head.hash)
            )

    @property
    def db(self) -> CompatConnection:
        """The transaction's connection, SQLite-style, for a store's own tables (sites)."""
        return CompatConnection(self._conn)

    def state(self, watch: str) -> WatchState:
        # FOR UPDATE: another worker's check of this watch waits for our commit.
        row = self._conn.execute(
            "SELECT state FROM watches WHERE name = %s FOR UPDATE", (watch,)
        ).fetchone()
        if row is None:
            raise StoreError(f"watch {watch!r} is not registered; call ensure_watches first")
        return WatchState.from_dict(json.loads(row["state"]))

    def latest_fetched_at(self, watch: str) -> datetime | None:
        """When the watch's latest capture of our own (not an archive's copy) was fetched."""
        row = self._conn.execute(
            "SELECT max(fetched_at) AS at FROM captures WHERE watch = %s AND source IS NULL",
            (watch,),
        ).fetchone()
        return row["at"] if row is not None else None

    def add_capture(self, capture: CaptureRecord) -> int:
        row: dict[str, Any] = {
            "id": self._next_id("captures"),
            "watch": capture.watch,
            "url": capture.url,
            "fetched_at": iso(capture.fetched_at),  # the chain covers the text form
            "status": capture.status,
            "final_url": capture.final_url,
            "headers": json.dumps([list(h) for h in capture.headers], ensure_ascii=False),
            "redirects": json.dumps([list(r) for r in capture.redirects], ensure_ascii=False),
            "body_sha256": capture.body_sha256,
            "body_size": capture.body_size,
            "text_sha256": capture.text_sha256,
            "encoding": capture.encoding,
            "elapsed_ms": capture.elapsed_ms,
            "attempts": capture.attempts,
            "outcome": str(capture.outcome),
            "error_class": capture.error_class and str(capture.error_class),
            "error": capture.error,
            "fetched_with": capture.fetched_with,
            "source_capture": capture.source_capture,
            "screenshot_sha256": capture.screenshot_sha256,
            # Provenance of a copy imported from a public archive (null for our own):
            "source": capture.source,
            "archived_at": capture.archived_at and iso(capture.archived_at),
            "archive_url": capture.archive_url,
            "archive_digest": capture.archive_digest,
        }
        if self._run_key is not None:
            # First, so that a retried job stops before it takes a chain position.
            # No savepoint: raising rolls the whole check back, which is what we want.
            claimed = self._conn.execute(
                "INSERT INTO check_runs (key, capture_id) VALUES (%s, %s) "
                "ON CONFLICT (key) DO NOTHING RETURNING key",
                (self._run_key, row["id"]),
            ).fetchone()
            if claimed is None:
                raise AlreadyRecordedError(
                    f"check run {self._run_key} is already recorded; nothing written"
                )
            self._run_key = None  # one capture per run (a rendered page's raw row is its own)
        self._chain("capture", row)
        self._conn.execute(_INSERT_CAPTURE, row)
        return int(row["id"])

    def add_change(self, capture: CaptureRecord, draft: EventDraft) -> int:
        if draft.kind == EventKind.CHANGED and capture.compared_with is not None:
            self._refuse_compared_elsewhere(capture)
        return self.add_event(capture.watch, iso(capture.fetched_at), draft)

    def add_event(
        self, watch: str, detected_at: str, draft: EventDraft, derived_from: str | None = None
    ) -> int:
        """An event, chained like any; ``derived_from`` names the archive of an event found
        across imported copies (dated by the archive's time)."""
        # The id is drawn under the chain's lock, so change ids commit in id order: the
        # alert outbox's cursor over change ids never skips a late commit (outbox.py).
        self._lock_head()
        row: dict[str, Any] = {
            "id": self._next_id("changes"),
            "watch": watch,
            "kind": str(draft.kind),
            "detected_at": detected_at,
            "from_capture": draft.from_capture,
            "to_capture": draft.to_capture,
            "removed": json.dumps(list(draft.removed), ensure_ascii=False),
            "added": json.dumps(list(draft.added), ensure_ascii=False),
            "flags": json.dumps([f.to_dict() for f in draft.flags], ensure_ascii=False),
            "detail": json.dumps(draft.detail, ensure_ascii=False),
            "derived_from": derived_from,
        }
        self._chain("change", row)
        try:  # an error aborts the transaction: the whole check is rolled back
            self._conn.execute(_INSERT_CHANGE, row)
        except psycopg.Error as error:
            if error.sqlstate not in (_STALE_REFERENCE, _UNIQUE_VIOLATION):
                raise
            raise StaleReferenceError(
                f"{watch}: a {draft.kind} event from capture {draft.from_capture} "
                "was refused: another check moved the reference first"
            ) from error
        return int(row["id"])

    def _refuse_compared_elsewhere(self, capture: CaptureRecord) -> None:
        """Compare-and-set: the text must have been compared against the watch's
        reference as it stands now (the row is locked by :meth:`state`). The trigger
        ``changes_from_reference`` checks the event's own ``from_capture``."""
        row = self._conn.execute(
            "SELECT reference FROM watches WHERE name = %s FOR UPDATE", (capture.watch,)
        ).fetchone()
        current = row["reference"] if row else None
        if current != capture.compared_with:
            raise StaleReferenceError(
                f"{capture.watch}: a changed event compared against capture "
                f"{capture.compared_with} was refused: the reference is now {current} "
                "(another check moved the reference first)"
            )

    def set_state(self, watch: str, state: WatchState) -> None:
        self._conn.execute(
            "UPDATE watches SET state = %s, reference = %s WHERE name = %s",
            (json.dumps(state.to_dict()), state.reference, watch),
        )
