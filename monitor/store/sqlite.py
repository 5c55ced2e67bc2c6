"""The embedded evidence store: SQLite (WAL) for records, content-addressed blobs for bytes.

Layout of a data directory::

    monitor.db          captures, changes, watches (captures and changes append-only)
    blobs/ab/<sha>.gz   raw bodies and extracted documents, named by SHA-256

Every check is one ``captures`` row, written in the same transaction as its events and
the watch's new state, *after* its blobs are safely on disk: a crash or SIGKILL at any
point leaves either the whole check or none of it, and never a row pointing at a
missing blob. Triggers refuse UPDATE and DELETE on captures and changes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from ..analysis.events import EventDraft, WatchState
from ..errors import NotFoundError, StoreError
from ..evidence.chain import Head, chain_hash
from ..model import EventKind, iso, parse_time, utc_now
from .archive_records import ArchiveRecords, ArchiveWrites
from .base import CaptureRecord, Row
from .blobs import BlobStore
from .browse import CHANGE_SELECT as _CHANGE_SELECT
from .browse import SQLiteBrowsing
from .chaining import ChainCursor, EvidenceReads, chain_cursor
from .failures import StaleReferenceError, write_refused
from .opening import open_database
from .sites import SQLiteSites

DATABASE = "monitor.db"

_CAPTURE_COLUMNS = (
    "id, watch, url, fetched_at, status, final_url, headers, redirects, body_sha256, "
    "body_size, text_sha256, encoding, elapsed_ms, attempts, outcome, error_class, error, "
    "fetched_with, source_capture, screenshot_sha256, source, archived_at, archive_url, "
    "archive_digest, chain_seq, chain_hash"
)
_INSERT_CAPTURE = (
    f"INSERT INTO captures ({_CAPTURE_COLUMNS}) VALUES "
    f"({', '.join(':' + c.strip() for c in _CAPTURE_COLUMNS.split(','))})"
)
_CHANGE_COLUMNS = (
    "id, watch, kind, detected_at, from_capture, to_capture, removed, added, flags, detail, "
    "derived_from, chain_seq, chain_hash"
)
_INSERT_CHANGE = (
    f"INSERT INTO changes ({_CHANGE_COLUMNS}) VALUES "
    f"({', '.join(':' + c.strip() for c in _CHANGE_COLUMNS.split(','))})"
)

_open_stores = 0  # Store connections open in this process (see open_stores)
_open_stores_lock = threading.Lock()


def open_stores() -> int:
    """How many Store connections this process has open.

    A process that forks must have none: a child inherits SQLite's per-process lock
    bookkeeping for the file (in WAL mode, the shared-memory index's too), and a
    connection it opens itself would trust locks that only the parent holds.
    """
    return _open_stores


def _count_open(change: int) -> None:
    global _open_stores
    with _open_stores_lock:
        _open_stores += change


class SQLiteStore(EvidenceReads, SQLiteBrowsing, ArchiveRecords):
    """SQLite + blob store in one data directory (a :class:`BrowsableStore`).

    Safe to share between threads.
    """

    def __init__(self, data_dir: str | os.PathLike[str], read_only: bool = False) -> None:
        """``read_only``: for commands that read; a directory that cannot be written
        is opened without creating or changing anything in it (see opening.py)."""
        self.root = Path(data_dir)
        try:
            if not read_only:
                self.root.mkdir(parents=True, exist_ok=True)
            self.blobs = BlobStore(
                self.root / "blobs", read_only=read_only, defer_directory_sync=not read_only
            )
            self._opened = open_database(self.root / DATABASE, read_only)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(
                f"cannot open the data directory {self.root}: {error}. "
                "Check the path and its permissions, or pick another with --data-dir."
            ) from error
        self._db = self._opened.db
        self.read_only = read_only  # opened by a command that reads
        self.writable = not self._opened.read_only  # its directory could be written
        self.database = self._opened.target  # for another connection (the search index)
        self._lock = threading.RLock()
        self._cursor: ChainCursor | None = None  # see chaining.ChainCursor
        self.location = str(self.root.resolve())
        self._open = True
        _count_open(+1)

    def close(self) -> None:
        with self._lock:
            self._opened.close()
            if self._open:
                self._open = False
                _count_open(-1)
        self.blobs.sync()  # blobs no row references yet: durable all the same, once closed

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; no room or no permission to write is a typed error."""
        # Blobs written so far become durable before any row can reference them; outside
        # the lock, so that threads recording at once share one round of fsyncs.
        self.blobs.sync()
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    if self._db.in_transaction:  # SQLite may have rolled back itself
                        self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as error:
                refused = write_refused(self.location, error)
                if refused is None:
                    raise
                if self._db.in_transaction:  # a failed COMMIT leaves it open
                    self._db.execute("ROLLBACK")
                raise refused from error

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return [dict(row) for row in self._db.execute(sql, params).fetchall()]

    # -- watches ------------------------------------------------------------------

    def ensure_watches(self, watches: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
        """Register watches (or refresh their configuration) in one transaction.

        Their history is untouched.
        """
        now = iso(utc_now())
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO watches (name, url, config, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET url = excluded.url, config = excluded.config",
                [(n, u, json.dumps(c, ensure_ascii=False), now) for n, u, c in watches],
            )

    def watch_config(self, name: str) -> dict[str, Any]:
        self.require_watch(name)
        rows = self._query("SELECT config FROM watches WHERE name = ?", (name,))
        return dict(json.loads(rows[0]["config"]))

    def state(self, name: str) -> WatchState:
        rows = self._query("SELECT state FROM watches WHERE name = ?", (name,))
        return WatchState.from_dict(json.loads(rows[0]["state"])) if rows else WatchState()

    def last_checks(self) -> dict[str, datetime]:
        """When each watch was last checked (for scheduling after a restart)."""
        rows = self._query(
            "SELECT watch, MAX(fetched_at) AS at FROM captures WHERE source IS NULL GROUP BY watch"
        )
        return {r["watch"]: parse_time(r["at"]) for r in rows}

    # -- recording a check --------------------------------------------------------

    def put_blob(self, data: bytes, digest: str | None = None) -> str:
        return self.blobs.put(data, digest)

    def get_blob(self, digest: str) -> bytes:
        return self.blobs.get(digest)

    def blob_location(self, digest: str) -> str:
        """A URI for a blob's file, for reports to link to."""
        return self.blobs.path(digest).resolve().as_uri()

    @contextmanager
    def recording(self) -> Iterator[_Writer]:
        """One check's transaction: add its capture, read the state, add events, set state.

        Everything written through the writer commits together or not at all; the state
        read inside cannot change underneath it (the write lock is held).
        """
        # Held through the cursor's hand-over: a thread starting from the old one would
        # take the same ids (data_version does not change for our own commits).
        with self._lock:
            with self._transaction() as db:
                writer = _Writer(db, chain_cursor(db, self._cursor))
                yield writer
            self._cursor = writer.cursor  # committed: the next transaction starts from it

    def sites(self) -> SQLiteSites:
        """The records of documentation sites and language versions (store/sites.py)."""
        return SQLiteSites(self)

    # -- reading ------------------------------------------------------------------

    def capture(self, capture_id: int) -> Row:
        rows = self._query("SELECT * FROM captures WHERE id = ?", (capture_id,))
        if not rows:
            raise NotFoundError(f"no capture with id {capture_id} in {self.location}")
        return rows[0]

    def bytes_capture(self, capture: Row) -> Row | None:
        """The capture whose raw bytes a capture's text came from.

        A 304 or an unchanged check stores no body of its own; its text is that of the
        last capture with the same text that does.
        """
        if capture["body_sha256"]:
            return capture
        rows = self._query(
            "SELECT * FROM captures WHERE watch = ? AND id < ? AND text_sha256 = ? "
            "AND body_sha256 NOT NULL ORDER BY id DESC LIMIT 1",
            (capture["watch"], capture["id"], capture["text_sha256"]),
        )
        return rows[0] if rows else None

    def require_watch(self, watch: str) -> None:
        if not self._query("SELECT 1 FROM watches WHERE name = ?", (watch,)):
            known = ", ".join(r["name"] for r in self._query("SELECT name FROM watches")) or "none"
            raise NotFoundError(
                f"no watch named {watch!r} in the data directory {self.location} (known: {known})"
            )

    def change(self, change_id: int) -> Row:
        rows = self._query(_CHANGE_SELECT + " AND c.id = ?", (change_id,))
        if not rows:
            raise NotFoundError(
                f"no change with id {change_id} in {self.location}; "
                "list them with 'monitor changes'"
            )
        return rows[0]

    def changes(
        self,
        since: datetime | None = None,
        watch: str | None = None,
        flagged: bool = False,
    ) -> list[Row]:
        """Change events, oldest first, joined with their snapshots' body hashes.

        Derived events that a later import superseded are kept but not listed.
        """
        sql = _CHANGE_SELECT + " AND s.change_id IS NULL"
        params: list[Any] = []
        if since is not None:
            sql += " AND c.detected_at >= ?"
            params.append(iso(since))
        if watch is not None:
            sql += " AND c.watch = ?"
            params.append(watch)
        if flagged:
            sql += " AND c.flags != '[]'"
        return self._query(sql + " ORDER BY c.detected_at, c.id", params)

    # -- integrity ----------------------------------------------------------------

    def verify(self) -> list[str]:
        """Problems found: SQLite integrity, blobs missing or not matching their hash.

        The evidence chain and its checkpoints are checked by ``monitor.evidence.verify``.
        """
        problems = [
            f"sqlite: {row['integrity_check']}"
            for row in self._query("PRAGMA integrity_check")
            if row["integrity_check"] != "ok"
        ]
        return problems + list(self.blob_problems()) + self.witness_blob_problems()


Store = SQLiteStore  # the name the rest of the code and older scripts use


class _Writer(ArchiveWrites):
    """The writes of one check, inside :meth:`SQLiteStore.recording`'s transaction."""

    def __init__(self, db: sqlite3.Connection, cursor: ChainCursor) -> None:
        self._db = db
        self.cursor = cursor

    @property
    def db(self) -> sqlite3.Connection:
        """The transaction's connection, for a store's own tables (store/sites.py)."""
        return self._db

    def _chain(self, record_type: str, row: dict[str, Any], values: dict[str, Any]) -> None:
        """Give a row its chain position and hash (monitor/evidence/chain.py).

        ``values``: decoded values of JSON columns, when at hand (saves parsing them back).
        """
        head = self.cursor.head
        seq = head.seq + 1
        row["chain_seq"] = seq
        row["chain_hash"] = chain_hash(head.hash, record_type, seq, {**row, **values})
        self.cursor.head = Head(seq, row["chain_hash"])

    def add_capture(self, capture: CaptureRecord) -> int:
        row: dict[str, Any] = {
            "id": self.cursor.take_id(self._db, "captures"),
            "watch": capture.watch,
            "url": capture.url,
            "fetched_at": iso(capture.fetched_at),
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
        # Headers and redirects are lists of strings and numbers: their decoded form is
        # exactly the Python lists (no need to parse the JSON text back).
        decoded = {
            "headers": [list(h) for h in capture.headers],
            "redirects": [list(r) for r in capture.redirects],
        }
        self._chain("capture", row, decoded)
        self._db.execute(_INSERT_CAPTURE, row)
        return int(row["id"])

    def state(self, watch: str) -> WatchState:
        row = self._db.execute("SELECT state FROM watches WHERE name = ?", (watch,)).fetchone()
        if row is None:
            raise StoreError(f"watch {watch!r} is not registered; call ensure_watches first")
        return WatchState.from_dict(json.loads(row["state"]))

    def latest_fetched_at(self, watch: str) -> datetime | None:
        """When the watch's latest capture of our own (not an archive's copy) was fetched."""
        row = self._db.execute(
            "SELECT MAX(fetched_at) AS at FROM captures WHERE watch = ? AND source IS NULL",
            (watch,),
        ).fetchone()
        return parse_time(row["at"]) if row is not None and row["at"] else None

    def add_change(self, capture: CaptureRecord, draft: EventDraft) -> int:
        if draft.kind == EventKind.CHANGED:
            self._refuse_stale(capture, draft)
        return self.add_event(capture.watch, iso(capture.fetched_at), draft)

    def _refuse_stale(self, capture: CaptureRecord, draft: EventDraft) -> None:
        """Compare-and-set: a ``changed`` event must start from the watch's reference
        as it stands in this transaction, and be compared against that very capture."""
        current = self.state(capture.watch).reference
        compared = capture.compared_with
        if draft.from_capture != current or (compared is not None and compared != current):
            raise StaleReferenceError(
                f"{capture.watch}: a changed event compared against capture "
                f"{compared if compared is not None else draft.from_capture} was refused: "
                f"the reference is now {current} (another check moved it first)"
            )

    def add_event(
        self, watch: str, detected_at: str, draft: EventDraft, derived_from: str | None = None
    ) -> int:
        """An event, chained like any; site and locale events are not tied to a new
        capture of their watch, so they give the time themselves; ``derived_from`` names
        the archive for an event found across imported copies."""
        row: dict[str, Any] = {
            "id": self.cursor.take_id(self._db, "changes"),
            "watch": watch,
            "kind": str(draft.kind),
            "detected_at": detected_at,
            "from_capture": draft.from_capture,
            "to_capture": draft.to_capture,
            "removed": json.dumps(list(draft.removed), ensure_ascii=False),
            "added": json.dumps(list(draft.added), ensure_ascii=False),
            "flags": json.dumps([f.to_dict() for f in draft.flags], ensure_ascii=False),
            "detail": json.dumps(draft.detail, ensure_ascii=False),
            "derived_from": derived_from,  # the archive, for an event found across its copies
        }
        self._chain("change", row, {})  # details are parsed back: exactly what is stored
        self._db.execute(_INSERT_CHANGE, row)
        return int(row["id"])

    def set_state(self, watch: str, state: WatchState) -> None:
        self._db.execute(
            "UPDATE watches SET state = ? WHERE name = ?", (json.dumps(state.to_dict()), watch)
        )
