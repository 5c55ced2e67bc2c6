"""The SQLite store's records for public archives: imported captures and witnesses.

Imported captures are ordinary capture rows with provenance columns (see
migrations.py, version 2); one archive address is imported once per watch (a unique
index), so a re-run or a resumed import cannot duplicate one.

Witnesses are the one mutable record: a witness moves from ``pending`` to
``archived`` or ``failed`` as the archive answers, and gains the check of its copy.
Its change, the capture it witnesses and the fetched copy (a blob) never change.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from ..analysis.events import EventDraft
from ..model import iso, utc_now
from .base import Row

# The columns the witness worker may change.
WITNESS_FIELDS = frozenset(
    (
        "status",
        "reason",
        "job_id",
        "archived_url",
        "archive_timestamp",
        "submitted_at",
        "finished_at",
        "attempts",
        "next_attempt_at",
        "copy",
    )
)

# A change's witnesses as a JSON array, one subquery per change row (SQLite's JSON1).
WITNESSES_COLUMN = (
    "(SELECT json_group_array(json_object("
    "'id', x.id, 'change_id', x.change_id, 'archive', x.archive, 'url', x.url, "
    "'status', x.status, 'reason', x.reason, 'job_id', x.job_id, "
    "'archived_url', x.archived_url, 'archive_timestamp', x.archive_timestamp, "
    "'requested_at', x.requested_at, 'submitted_at', x.submitted_at, "
    "'finished_at', x.finished_at, 'attempts', x.attempts, "
    "'copy', json(x.copy))) FROM witnesses x WHERE x.change_id = c.id) AS witnesses"
)


# When the page looked like this: the archive's time for an imported copy, else ours.
PAGE_TIME = "COALESCE(archived_at, fetched_at)"


class ArchiveRecords:
    """Mixed into :class:`~monitor.store.sqlite.SQLiteStore`."""

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError  # provided by SQLiteStore

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # provided by SQLiteStore

    def require_watch(self, watch: str) -> None:
        raise NotImplementedError  # provided by SQLiteStore

    def captures(self, watch: str) -> list[Row]:
        """A watch's captures in page time: imported copies interleaved with ours."""
        self.require_watch(watch)
        return self._query(
            f"SELECT * FROM captures WHERE watch = ? ORDER BY {PAGE_TIME}, id", (watch,)
        )

    def capture_at(self, watch: str, moment: datetime) -> Row | None:
        """The last capture with extracted text taken at or before a time."""
        self.require_watch(watch)
        rows = self._query(
            f"SELECT * FROM captures WHERE watch = ? AND text_sha256 NOT NULL "
            f"AND {PAGE_TIME} <= ? ORDER BY {PAGE_TIME} DESC, id DESC LIMIT 1",
            (watch, iso(moment)),
        )
        return rows[0] if rows else None

    def witness_blob_problems(self) -> list[str]:
        """The archived copies fetched back for witnesses, checked like any blob."""
        blobs = self.blobs  # type: ignore[attr-defined]
        rows = self._query(
            "SELECT json_extract(copy, '$.sha256') AS d FROM witnesses "
            "WHERE json_extract(copy, '$.sha256') NOT NULL"
        )
        return [
            f"blob {row['d']} (a witness's archived copy) is missing or does not match its hash"
            for row in rows
            if not blobs.verify(row["d"])
        ]

    def archive_urls(self, watch: str) -> set[str]:
        """The archive addresses already imported for a watch."""
        rows = self._query(
            "SELECT archive_url FROM captures WHERE watch = ? AND archive_url NOT NULL",
            (watch,),
        )
        return {str(r["archive_url"]) for r in rows}

    def witnesses(
        self, change_ids: Sequence[int] | int | None = None, status: str | None = None
    ) -> list[Row]:
        """Witness records (all, or of some changes, or in one status), oldest first."""
        if isinstance(change_ids, int):
            change_ids = [change_ids]
        sql = (
            "SELECT x.*, c.watch AS watch, c.detected_at AS detected_at FROM witnesses x "
            "JOIN changes c ON c.id = x.change_id WHERE 1 = 1"
        )
        params: list[Any] = []
        if change_ids is not None:
            ids = list(change_ids)
            if not ids:
                return []
            sql += f" AND x.change_id IN ({','.join('?' * len(ids))})"
            params += ids
        if status is not None:
            sql += " AND x.status = ?"
            params.append(status)
        return self._query(sql + " ORDER BY x.id", params)

    def due_witnesses(self, now: datetime) -> list[Row]:
        """Witnesses with work to do now: to submit, to poll, or a copy to fetch back."""
        return self._query(
            "SELECT * FROM witnesses WHERE next_attempt_at <= ? AND "
            "(status = 'pending' OR (status = 'archived' AND copy IS NULL)) "
            "ORDER BY next_attempt_at, id",
            (iso(now),),
        )

    def update_witness(self, witness_id: int, fields: Mapping[str, Any]) -> None:
        unknown = set(fields) - WITNESS_FIELDS
        if unknown:
            raise ValueError(f"not a witness field: {', '.join(sorted(unknown))}")
        if not fields:
            return
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._transaction() as db:
            db.execute(
                f"UPDATE witnesses SET {assignments} WHERE id = ?",
                [*fields.values(), witness_id],
            )


class ArchiveWrites:
    """Mixed into the SQLite store's recording writer: derived events and witnesses."""

    _db: sqlite3.Connection

    def add_event(
        self, watch: str, detected_at: str, draft: EventDraft, derived_from: str | None = None
    ) -> int:
        raise NotImplementedError  # provided by the writer

    def add_derived_change(
        self, watch: str, draft: EventDraft, at: datetime, derived_from: str
    ) -> int:
        """An event found across archived copies, dated by the archive's time."""
        return self.add_event(watch, iso(at), draft, derived_from)

    def supersede_change(self, change_id: int) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO superseded_changes (change_id, superseded_at) VALUES (?, ?)",
            (change_id, iso(utc_now())),
        )

    def add_witness(self, change_id: int, archive: str, url: str) -> int:
        """A witness request, in the same transaction as its change (so never lost)."""
        now = iso(utc_now())
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO witnesses (change_id, archive, url, requested_at, "
            "next_attempt_at) VALUES (?, ?, ?, ?, ?)",
            (change_id, archive, url, now, now),
        )
        return int(cursor.lastrowid or 0)
