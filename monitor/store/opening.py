"""Opening a data directory's SQLite database: for recording, or only for reading.

A command that records opens the database read-write (WAL) and brings its schema up to
date. A command that only reads must also work on evidence nobody may write to: a copy
on a read-only mount, or a directory handed to someone else. There, nothing may be
created or changed (no ``-wal``/``-shm``, no migration, no temporary files), so the
database is opened according to what the directory holds:

==============================  ==============================================
the directory holds             opened as
==============================  ==============================================
no write-ahead log content      ``mode=ro&immutable=1``: SQLite needs no -shm
a ``-wal`` with its ``-shm``    ``mode=ro``: the log's transactions are read
a ``-wal`` without a ``-shm``   a private copy of database and log in the
                                system's temporary directory (removed on close)
==============================  ==============================================

A read-only directory is assumed not to change while it is read. On a writable
directory, read commands open the database as a recording command does (an old schema
is brought up to date, SQLite tidies its -wal/-shm on close, ``bundle`` may add the
checkpoint a change needs) but create no blob directory and no temporary files.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import StoreError
from .migrations import LATEST, MIGRATIONS, UPGRADES

log = logging.getLogger(__name__)

BUSY_TIMEOUT = 30  # seconds a connection waits for another process's write lock


@dataclass
class Opened:
    """An open database connection and how it was opened."""

    db: sqlite3.Connection
    target: str  # what another connection to the same database opens (a path or a URI)
    read_only: bool = False  # the directory cannot be written: opened by _open_read_only
    private_copy: Path | None = None  # a temporary directory to remove on close

    def close(self) -> None:
        self.db.close()
        if self.private_copy is not None:
            shutil.rmtree(self.private_copy, ignore_errors=True)
            self.private_copy = None


def open_database(database: Path, read_only: bool = False) -> Opened:
    """Open ``database`` (its directory must exist); see the module's table."""
    if read_only and not _writable(database):
        return _open_read_only(database)
    db = connect(str(database))
    db.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode is crash-safe (a kill loses nothing committed; a power cut may
    # lose the last transactions but never corrupts).
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    migrate(db)
    return Opened(db, str(database))


def connect(target: str) -> sqlite3.Connection:
    db = sqlite3.connect(
        target,
        check_same_thread=False,
        isolation_level=None,
        timeout=BUSY_TIMEOUT,
        uri=target.startswith("file:"),
    )
    db.row_factory = sqlite3.Row
    return db


def _writable(database: Path) -> bool:
    """Can this process create files next to the database and write it?

    ``os.access`` also answers for root on a read-only mount (EROFS).
    """
    files = (database, _sidecar(database, "-wal"), _sidecar(database, "-shm"))
    existing = [p for p in files if p.exists()]
    return all(os.access(p, os.W_OK) for p in (database.parent, *existing))


def _sidecar(database: Path, suffix: str) -> Path:
    return database.with_name(database.name + suffix)


def _open_read_only(database: Path) -> Opened:
    wal, shm = _sidecar(database, "-wal"), _sidecar(database, "-shm")
    has_log = wal.exists() and wal.stat().st_size > 0
    copy: Path | None = None
    if not has_log:
        target = f"{database.resolve().as_uri()}?mode=ro&immutable=1"
    elif shm.exists():
        target = f"{database.resolve().as_uri()}?mode=ro"
    else:
        # Transactions in a log without its index: SQLite would have to create the
        # -shm to read them, and immutable=1 would silently skip them. Read a copy.
        copy = Path(tempfile.mkdtemp(prefix="monitor-read-only-"))
        try:
            shutil.copyfile(database, copy / database.name)
            shutil.copyfile(wal, _sidecar(copy / database.name, "-wal"))
        except OSError as error:
            shutil.rmtree(copy, ignore_errors=True)
            raise StoreError(
                f"{database} has a write-ahead log ({wal.name}) but no {shm.name}, and its "
                f"directory is read-only; copying it to read failed: {error}. Copy the data "
                "directory somewhere writable and point --data-dir at the copy."
            ) from error
        log.info("%s: reading a private copy of the database and its log in %s", database, copy)
        target = str(copy / database.name)
    db = connect(target)
    opened = Opened(db, target, read_only=True, private_copy=copy)
    try:
        db.execute("PRAGMA query_only=ON")
        _require_current_schema(db, database.parent)
    except BaseException:
        opened.close()
        raise
    return opened


def _schema(db: sqlite3.Connection) -> int:
    """The schema version a database is at (0: new, or from before numbered migrations)."""
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.OperationalError:  # no meta table
        return 0
    return int(row[0]) if row else 0


def _require_current_schema(db: sqlite3.Connection, root: Path) -> None:
    """A read-only directory cannot be migrated: an old one is refused with advice."""
    version = _schema(db)
    if version < LATEST:
        raise StoreError(
            f"the data directory {root} was written by an older monitor (schema {version}; "
            f"this version reads schema {LATEST}) and is read-only, so it cannot be upgraded "
            "in place. Copy it somewhere writable, upgrade the copy with this version "
            "(e.g. 'cp -a DIR COPY && monitor --data-dir COPY verify'), and read the copy."
        )


def migrate(db: sqlite3.Connection) -> None:
    """Bring a data directory's schema up to date (see migrations.py), atomically."""
    if _schema(db) >= LATEST:  # the usual case: no write, no wait for a writer's lock
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        current = _schema(db)  # again, under the lock: another process may have migrated
        for version, sql in MIGRATIONS:
            if version > current:
                for statement in _statements(sql):
                    db.execute(statement)
                if version in UPGRADES:
                    UPGRADES[version](db)
                current = version
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('schema', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(current),),
        )
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (executescript would commit on its own)."""
    statements, pending = [], ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    return [s for s in statements if s]
