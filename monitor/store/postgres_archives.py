"""Public-archive records (imported copies, witnesses) and triage marks on the PostgreSQL store.

The same records as the SQLite store's (archive_records.py, browse.py), in the tables of
postgres_migrations.py version 2, read back in the same shape: an imported capture's
provenance columns, a change's ``source``, ``superseded_at``, ``witnesses`` and
``triage`` (JSON text, compact as SQLite's JSON functions write it), and the witness
queue the Save Page Now worker works through.

Imported captures and derived events are chained like any record (the chain covers
their provenance fields); a witness is the one mutable record, and is never deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg

from ..analysis.events import EventDraft
from ..errors import ConfigError, NotFoundError
from ..model import iso, utc_now
from .archive_records import WITNESS_FIELDS
from .base import TRIAGE_MARKS, Row

# Held by the process working the witness queue ("monitor" + 4).
WITNESS_LOCK = 0x6D6F6E69746F7204

CAPTURE_COLUMNS = (
    "id, watch, url, fetched_at, status, final_url, headers, redirects, body_sha256, "
    "body_size, text_sha256, encoding, elapsed_ms, attempts, outcome, error_class, error, "
    "fetched_with, source_capture, screenshot_sha256, chain_seq, chain_hash, "
    "source, archived_at, archive_url, archive_digest"
)
# When the page looked like this: the archive's time for an imported copy, else ours.
PAGE_TIME = "coalesce(archived_at, fetched_at)"

_WITNESSES_COLUMN = (
    "(SELECT coalesce(json_agg(json_build_object("
    "'id', x.id, 'change_id', x.change_id, 'archive', x.archive, 'url', x.url, "
    "'status', x.status, 'reason', x.reason, 'job_id', x.job_id, "
    "'archived_url', x.archived_url, 'archive_timestamp', x.archive_timestamp, "
    "'requested_at', x.requested_at, 'submitted_at', x.submitted_at, "
    "'finished_at', x.finished_at, 'attempts', x.attempts, 'copy', x.copy) ORDER BY x.id), "
    "'[]'::json) FROM witnesses x WHERE x.change_id = c.id) AS witnesses"
)
_TRIAGE_COLUMN = (
    "(SELECT coalesce(json_agg(json_build_object('mark', x.mark, 'note', x.note, "
    "'author', x.author, 'at', x.created_at) ORDER BY x.id), '[]'::json) "
    "FROM triage x WHERE x.change = c.id) AS triage"
)
# A change with its watch's URL, both snapshots' body hashes, its triage marks, where it
# came from ("live", or the archive's name) and its witnesses: the SQLite store's row.
CHANGE_SELECT = (
    "SELECT c.id, c.watch, c.kind, c.detected_at, c.from_capture, c.to_capture, c.removed, "
    "c.added, c.flags, c.detail, c.chain_seq, c.chain_hash, c.derived_from, w.url AS url, "
    "f.body_sha256 AS from_snapshot, t.body_sha256 AS to_snapshot, "
    f"{_TRIAGE_COLUMN}, coalesce(c.derived_from, f.source, t.source, 'live') AS source, "
    f"s.superseded_at AS superseded_at, {_WITNESSES_COLUMN} "
    "FROM changes c "
    "JOIN watches w ON w.name = c.watch "
    "LEFT JOIN captures f ON f.id = c.from_capture "
    "JOIN captures t ON t.id = c.to_capture "
    "LEFT JOIN superseded_changes s ON s.change_id = c.id WHERE true"
)
_MAX_NOTE = 4000
_MAX_AUTHOR = 200


def compact_json_columns(rows: list[Row]) -> list[Row]:
    """Aggregated JSON text as SQLite's JSON functions write it (no spaces), so that rows
    are equal across back ends, text for text."""
    for row in rows:
        for name in ("witnesses", "triage"):
            if isinstance(row.get(name), str):
                value = json.loads(row[name])
                row[name] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))  # type: ignore[index]
    return rows


class PostgresArchiveRecords:
    """The archive and triage methods of :class:`PostgresStore` (a mixin)."""

    blobs: Any

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError  # provided by PostgresStore

    def require_watch(self, watch: str) -> None:
        raise NotImplementedError  # provided by PostgresStore

    def captures(self, watch: str) -> list[Row]:
        """A watch's captures in page time: imported copies interleaved with ours."""
        self.require_watch(watch)
        return self._query(
            f"SELECT {CAPTURE_COLUMNS} FROM captures WHERE watch = %s ORDER BY {PAGE_TIME}, id",
            (watch,),
        )

    def capture_at(self, watch: str, moment: datetime) -> Row | None:
        """The last capture with extracted text taken (in page time) at or before a time."""
        self.require_watch(watch)
        rows = self._query(
            f"SELECT {CAPTURE_COLUMNS} FROM captures WHERE watch = %s "
            f"AND text_sha256 IS NOT NULL AND {PAGE_TIME} <= %s "
            f"ORDER BY {PAGE_TIME} DESC, id DESC LIMIT 1",
            (watch, moment),
        )
        return rows[0] if rows else None

    def archive_urls(self, watch: str) -> set[str]:
        """The archive addresses already imported for a watch."""
        rows = self._query(
            "SELECT archive_url FROM captures WHERE watch = %s AND archive_url IS NOT NULL",
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
            "JOIN changes c ON c.id = x.change_id WHERE true"
        )
        params: list[Any] = []
        if change_ids is not None:
            ids = list(change_ids)
            if not ids:
                return []
            sql += " AND x.change_id = ANY(%s)"
            params.append(ids)
        if status is not None:
            sql += " AND x.status = %s"
            params.append(status)
        return self._query(sql + " ORDER BY x.id", params)

    def due_witnesses(self, now: datetime) -> list[Row]:
        """Witnesses with work to do now: to submit, to poll, or a copy to fetch back."""
        return self._query(
            "SELECT * FROM witnesses WHERE next_attempt_at <= %s AND "
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
        assignments = ", ".join(f"{name} = %s" for name in fields)
        self._query(
            f"UPDATE witnesses SET {assignments} WHERE id = %s RETURNING id",
            [*fields.values(), witness_id],
        )

    def witness_blob_problems(self) -> list[str]:
        """The archived copies fetched back for witnesses, checked like any blob."""
        rows = self._query(
            "SELECT copy::json ->> 'sha256' AS d FROM witnesses "
            "WHERE copy::json ->> 'sha256' IS NOT NULL ORDER BY id"
        )
        return [
            f"blob {row['d']} (a witness's archived copy) is missing or does not match its hash"
            for row in rows
            if not self.blobs.verify(row["d"])
        ]

    @contextmanager
    def witness_lock(self) -> Iterator[None]:
        """Held while one process works the witness queue; another is refused at once
        (what the data directory's checking lock does for ``monitor witness work``)."""
        with self.connection() as conn:  # type: ignore[attr-defined]
            row = conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (WITNESS_LOCK,))
            if not row.fetchone()["got"]:
                raise ConfigError(
                    "another 'monitor witness work' is working this store's witness queue; "
                    "wait for it to finish (one at a time per store)"
                )
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (WITNESS_LOCK,))

    def add_triage(self, change_id: int, mark: str, note: str, author: str) -> int:
        """Append a triage mark to a change (marks are never edited or removed)."""
        if mark not in TRIAGE_MARKS:
            raise ConfigError(f"triage mark {mark!r} is not one of {', '.join(TRIAGE_MARKS)}")
        author = " ".join(author.split())[:_MAX_AUTHOR]
        if not author:
            raise ConfigError("a triage mark needs an author")
        if not self._query("SELECT 1 FROM changes WHERE id = %s", (change_id,)):
            raise NotFoundError(f"no change with id {change_id}")
        rows = self._query(
            "INSERT INTO triage (change, mark, note, author, created_at) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (change_id, mark, note.strip()[:_MAX_NOTE], author, iso(utc_now())),
        )
        return int(rows[0]["id"])


class PostgresArchiveWrites:
    """The archive writes of one recording transaction (a mixin of the PostgreSQL writer)."""

    _conn: psycopg.Connection[dict[str, Any]]

    def add_event(
        self, watch: str, detected_at: str, draft: EventDraft, derived_from: str | None = None
    ) -> int:
        raise NotImplementedError  # provided by the writer

    def add_witness(self, change_id: int, archive: str, url: str) -> int:
        """A witness request, in the same transaction as its change (so never lost)."""
        now = iso(utc_now())
        row = self._conn.execute(
            "INSERT INTO witnesses (change_id, archive, url, requested_at, next_attempt_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (change_id, archive) DO NOTHING "
            "RETURNING id",
            (change_id, archive, url, now, now),
        ).fetchone()
        return int(row["id"]) if row else 0

    def add_derived_change(
        self, watch: str, draft: EventDraft, at: datetime, derived_from: str
    ) -> int:
        """An event found across archived copies, dated by the archive's time."""
        return self.add_event(watch, iso(at), draft, derived_from)

    def supersede_change(self, change_id: int) -> None:
        self._conn.execute(
            "INSERT INTO superseded_changes (change_id, superseded_at) VALUES (%s, %s) "
            "ON CONFLICT (change_id) DO NOTHING",
            (change_id, utc_now()),
        )
