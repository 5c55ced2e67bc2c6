"""Where the outbox keeps its tables: the data directory's SQLite file, or a PostgreSQL store.

The outbox speaks SQL both databases understand (``?`` placeholders, rows by name or
position). Write transactions are serialised: on SQLite by ``BEGIN IMMEDIATE`` on the
one file, on PostgreSQL by an advisory lock (monitor/store/postgres_compat.py), so
planning stays exactly-once and a delivery lease is taken by one process at a time,
however many processes and machines send alerts for one store.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

# Taken by every outbox write transaction on PostgreSQL ("monitor" + 2).
OUTBOX_LOCK = 0x6D6F6E69746F7202


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Cursor: ...


class OutboxDatabase(Protocol):
    location: str

    def transaction(self) -> AbstractContextManager[Connection]: ...
    def reading(self) -> AbstractContextManager[Connection]: ...
    def close(self) -> None: ...


class SQLiteDatabase:
    """The data directory's database file, on a connection of the outbox's own."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.location = str(Path(path).parent)
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._db

    def close(self) -> None:
        with self._lock:
            self._db.close()
