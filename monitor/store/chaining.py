"""The SQLite store's side of the evidence chain: reading the head, chaining old rows,
and reading records back in chain order.

The chain itself (canonical bytes, hashes) is computed by the pure functions of
``monitor/evidence/chain.py``, which every store calls, so that all back ends produce
the same chain. One global chain per data directory: SQLite serialises writers, and a
check's rows are chained inside its write transaction.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..evidence.chain import FIELDS, GENESIS, TABLES, Entry, Head, chain_hash
from ..model import iso, utc_now

_BATCH = 1000

# The triggers of migration 1, lifted while an upgrade writes the chain columns of
# rows that predate the chain, and put back in the same transaction.
_NO_UPDATE = {
    "captures": "CREATE TRIGGER captures_no_update BEFORE UPDATE ON captures "
    "BEGIN SELECT RAISE(ABORT, 'captures are append-only evidence'); END",
    "changes": "CREATE TRIGGER changes_no_update BEFORE UPDATE ON changes "
    "BEGIN SELECT RAISE(ABORT, 'changes are append-only evidence'); END",
}


@dataclass
class ChainCursor:
    """Where the next records go: the head, and the next ids (read lazily).

    Kept by the store between its own transactions and trusted again only while
    ``PRAGMA data_version`` says no other connection has committed since: an unchanged
    check then costs one pragma instead of reading the head back (measured: ~35 us of
    a ~300 us recording transaction on this machine).
    """

    version: int
    head: Head
    next_capture: int | None = None
    next_change: int | None = None

    def take_id(self, db: sqlite3.Connection, table: str) -> int:
        attribute = "next_capture" if table == "captures" else "next_change"
        value = getattr(self, attribute) or next_id(db, table)
        setattr(self, attribute, value + 1)
        return int(value)


def chain_cursor(db: sqlite3.Connection, cached: ChainCursor | None) -> ChainCursor:
    """The cursor for a transaction just begun (the write lock is held)."""
    version = int(db.execute("PRAGMA data_version").fetchone()[0])
    if cached is not None and cached.version == version:
        return ChainCursor(version, cached.head, cached.next_capture, cached.next_change)
    return ChainCursor(version, read_head(db))


def read_head(db: sqlite3.Connection) -> Head:
    """The last chained record's position and hash (positions grow with row ids)."""
    best = Head(0, GENESIS)
    for table in TABLES.values():
        row = db.execute(
            f"SELECT chain_seq, chain_hash FROM {table} WHERE chain_seq NOT NULL "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is not None and row[0] > best.seq:
            best = Head(int(row[0]), str(row[1]))
    return best


def next_id(db: sqlite3.Connection, table: str) -> int:
    """The id the next row of a table gets (the chain covers ids, so they are chosen first)."""
    return int(db.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}").fetchone()[0])


def chain_existing_rows(db: sqlite3.Connection) -> None:
    """Chain the rows of a data directory that predates the chain, in their original order.

    The original order is the order of writing: each capture, then the events recorded
    with it (changes whose ``to_capture`` it is). The upgrade itself is recorded as a
    ``note`` after them, so the chain says which records were chained after the fact.
    """
    head = Head(0, GENESIS)
    for table in ("captures", "changes"):
        db.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
    last = 0
    while True:
        captures = [
            dict(r)
            for r in db.execute(
                "SELECT * FROM captures WHERE id > ? ORDER BY id LIMIT ?", (last, _BATCH)
            )
        ]
        if not captures:
            break
        changes: dict[int, list[dict[str, Any]]] = {}
        for change in db.execute(
            "SELECT * FROM changes WHERE to_capture BETWEEN ? AND ? ORDER BY to_capture, id",
            (captures[0]["id"], captures[-1]["id"]),
        ):
            changes.setdefault(change["to_capture"], []).append(dict(change))
        for capture in captures:
            head = _chain_row(db, "capture", capture, head)
            for change in changes.get(capture["id"], []):
                head = _chain_row(db, "change", change, head)
        last = captures[-1]["id"]
    for change in [dict(r) for r in db.execute("SELECT * FROM changes WHERE chain_seq IS NULL")]:
        head = _chain_row(db, "change", change, head)  # only if foreign keys were off
    for statement in _NO_UPDATE.values():
        db.execute(statement)
    if head.seq:
        detail = {
            "event": "upgrade: records written before the evidence chain existed were chained",
            "records": head.seq,
            "order": "captures by id, each followed by the changes recorded with it",
            "software": f"monitor {__version__}",
        }
        add_note(db, "upgrade", detail, head)


def _chain_row(db: sqlite3.Connection, record_type: str, row: dict[str, Any], head: Head) -> Head:
    seq = head.seq + 1
    # A field whose column a later migration adds is null in every row chained here.
    row = {**dict.fromkeys(FIELDS[record_type]), **row}
    digest = chain_hash(head.hash, record_type, seq, row)
    db.execute(
        f"UPDATE {TABLES[record_type]} SET chain_seq = ?, chain_hash = ? WHERE id = ?",
        (seq, digest, row["id"]),
    )
    return Head(seq, digest)


def add_note(db: sqlite3.Connection, kind: str, detail: dict[str, Any], head: Head) -> Head:
    """Append a note about the chain itself (e.g. an upgrade) as a chained record."""
    row = {
        "id": next_id(db, "chain_notes"),
        "kind": kind,
        "at": iso(utc_now()),
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True),
    }
    seq = head.seq + 1
    digest = chain_hash(head.hash, "note", seq, row)
    db.execute(
        "INSERT INTO chain_notes (id, kind, at, detail, chain_seq, chain_hash) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (row["id"], kind, row["at"], row["detail"], seq, digest),
    )
    return Head(seq, digest)


def _table_entries(
    db: sqlite3.Connection, record_type: str, from_seq: int
) -> Iterator[tuple[int, int, Entry]]:
    cursor = db.execute(
        # By position, not id: a row renumbered by hand is still met where it claims to be.
        # (SQLite sorts without an index, on disk when large; only verify and bundle read.)
        f"SELECT * FROM {TABLES[record_type]} WHERE chain_seq >= ? OR chain_seq IS NULL "
        "ORDER BY chain_seq, id",
        (from_seq,),
    )
    while rows := cursor.fetchmany(_BATCH):
        for row in rows:
            entry = Entry(record_type, row["chain_seq"], row["chain_hash"], dict(row))
            # Unchained rows sort first: they are reported, not walked.
            yield (-1 if entry.seq is None else entry.seq), row["id"], entry


def iter_entries(db: sqlite3.Connection, from_seq: int = 1) -> Iterator[Entry]:
    """Every record at or after a chain position, in chain order, streamed."""
    streams = [_table_entries(db, kind, from_seq) for kind in TABLES]
    for _, _, entry in heapq.merge(*streams, key=lambda item: item[0]):
        yield entry


class EvidenceReads:
    """The SQLite store's evidence methods (a mixin of SQLiteStore; kept apart for size)."""

    root: Any
    database: str  # what a new connection opens (a read-only store's is a URI)
    _db: sqlite3.Connection
    _lock: Any

    def _reader(self) -> sqlite3.Connection:
        """A separate connection for long streaming reads, on one consistent snapshot."""
        from .opening import connect  # opening -> migrations -> this module

        reader = connect(self.database)
        reader.execute("BEGIN")  # WAL: a read transaction sees one snapshot throughout
        return reader

    def chain_head(self) -> Head:
        """Where the chain stands now (its last record's position and stored hash)."""
        with self._lock:
            return read_head(self._db)

    def chain_entries(self, from_seq: int = 1) -> Iterator[Entry]:
        """Every chained record (and any unchained row) from a position on, in chain order."""
        reader = self._reader()
        try:
            yield from iter_entries(reader, from_seq)
        finally:
            reader.close()

    def iter_captures(
        self, watches: tuple[str, ...] = (), since: str | None = None, until: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Capture rows in capture order, streamed (exports of any size)."""
        sql, params = "SELECT * FROM captures WHERE 1 = 1", []
        if watches:
            sql += f" AND watch IN ({', '.join('?' * len(watches))})"
            params += list(watches)
        if since:
            sql += " AND fetched_at >= ?"
            params.append(since)
        if until:
            sql += " AND fetched_at <= ?"
            params.append(until)
        reader = self._reader()
        try:
            cursor = reader.execute(sql + " ORDER BY id", params)
            while rows := cursor.fetchmany(_BATCH):
                yield from (dict(r) for r in rows)
        finally:
            reader.close()

    def add_checkpoint(self, fields: dict[str, Any]) -> int:
        """Store a signed checkpoint (append-only)."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO checkpoints (seq, head, at, payload, signature, timestamp, authority) "
                "VALUES (:seq, :head, :at, :payload, :signature, :timestamp, :authority)",
                fields,
            )
            return int(cursor.lastrowid or 0)

    def checkpoints(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._db.execute("SELECT * FROM checkpoints ORDER BY id")]

    def blob_problems(self) -> Iterator[str]:
        """One line per blob that is missing or does not hash to its name, naming a record."""
        reader = self._reader()
        try:
            cursor = reader.execute(
                "SELECT d, MIN(id) AS first, COUNT(*) AS n, kind FROM ("
                "SELECT body_sha256 AS d, id, 'body' AS kind FROM captures "
                "WHERE body_sha256 NOT NULL UNION ALL SELECT text_sha256, id, 'text' "
                "FROM captures WHERE text_sha256 NOT NULL UNION ALL SELECT screenshot_sha256, "
                "id, 'screenshot' FROM captures WHERE screenshot_sha256 NOT NULL"
                ") GROUP BY d, kind ORDER BY first"
            )
            while rows := cursor.fetchmany(_BATCH):
                for row in rows:
                    if self.blobs.verify(row["d"]):  # type: ignore[attr-defined]
                        continue
                    state = "missing" if not self.blobs.path(row["d"]).exists() else "altered"  # type: ignore[attr-defined]
                    also = f" (and {row['n'] - 1} later capture(s))" if row["n"] > 1 else ""
                    yield f"capture {row['first']}{also}: {row['kind']} blob {row['d']} is {state}"
            # A site's discovery runs keep their page lists as manifest blobs (sites/).
            cursor = reader.execute(
                "SELECT id, manifest_sha256 AS d FROM site_runs WHERE manifest_sha256 NOT NULL"
            )
            while rows := cursor.fetchmany(_BATCH):
                for row in rows:
                    if not self.blobs.verify(row["d"]):  # type: ignore[attr-defined]
                        run, digest = row["id"], row["d"]
                        yield f"site run {run}: manifest blob {digest} is missing or altered"
        finally:
            reader.close()
