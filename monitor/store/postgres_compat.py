"""SQLite-style connections on the PostgreSQL store, for modules with portable SQL of their own.

The alert outbox (monitor/notify/outbox.py) keeps its tables beside the evidence and
speaks the SQL both databases understand, with ``?`` placeholders and rows readable by
name or position, as :mod:`sqlite3` gives them. This adapter lets the same code run on
PostgreSQL: placeholders become ``%s``, times come back as ISO text (as SQLite stores
them), and a write transaction first takes an advisory lock, so that writers of one
kind are serialised across processes and machines as SQLite's ``BEGIN IMMEDIATE``
serialises them on one file.

>>> to_pyformat("SELECT * FROM t WHERE a = ? AND b IN (?, ?)")
'SELECT * FROM t WHERE a = %s AND b IN (%s, %s)'
>>> row = CompatRow({"n": 3, "name": "w"})
>>> row[0], row["name"], dict(row)
(3, 'w', {'n': 3, 'name': 'w'})
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg

from ..model import iso

if TYPE_CHECKING:
    from .postgres import PostgresStore


def to_pyformat(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (portable SQL here holds no other ``?``)."""
    return sql.replace("%", "%%").replace("?", "%s")


class CompatRow(dict[str, Any]):
    """A row readable by column name or by position, like :class:`sqlite3.Row`."""

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int):
            return list(self.values())[key]
        return super().__getitem__(key)


class CompatCursor:
    """What callers use of a :class:`sqlite3.Cursor`: rows and the count of rows changed."""

    def __init__(self, cursor: psycopg.Cursor[dict[str, Any]]) -> None:
        self._cursor = cursor
        self.rowcount = cursor.rowcount

    def _rows(self, rows: Sequence[dict[str, Any]]) -> list[CompatRow]:
        return [
            CompatRow({k: iso(v) if isinstance(v, datetime) else v for k, v in r.items()})
            for r in rows
        ]

    def fetchone(self) -> CompatRow | None:
        if self._cursor.description is None:
            return None
        row = self._cursor.fetchone()
        return self._rows([row])[0] if row is not None else None

    def fetchall(self) -> list[CompatRow]:
        if self._cursor.description is None:
            return []
        return self._rows(self._cursor.fetchall())


class CompatConnection:
    """A pooled PostgreSQL connection that takes SQLite-style statements."""

    def __init__(self, conn: psycopg.Connection[dict[str, Any]]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> CompatCursor:
        cursor = self._conn.cursor()
        cursor.execute(to_pyformat(sql), tuple(params))  # type: ignore[arg-type]
        return CompatCursor(cursor)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(to_pyformat(sql), [tuple(r) for r in rows])  # type: ignore[arg-type]


class CompatDatabase:
    """Short statements and serialised write transactions on a PostgreSQL store."""

    def __init__(self, store: PostgresStore, lock: int, owned: bool = False) -> None:
        self.store = store
        self.location = store.location
        self._lock = lock
        self._owned = owned  # close the store with this database

    @contextmanager
    def transaction(self) -> Iterator[CompatConnection]:
        """A transaction holding this kind's advisory lock until it ends."""
        with self.store.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock,))
            yield CompatConnection(conn)

    @contextmanager
    def reading(self) -> Iterator[CompatConnection]:
        with self.store.connection() as conn:
            yield CompatConnection(conn)

    def close(self) -> None:
        if self._owned:
            self.store.close()
