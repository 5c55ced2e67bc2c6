"""The search index's SQL on a PostgreSQL store: one implementation, two databases.

:class:`~monitor.search.index.SearchIndex` and ``query.py`` speak SQLite through the
few calls of :class:`sqlite3.Connection` they use. :class:`PostgresSearchConnection`
offers the same calls on a connection of the index's own, translating what differs:

* ``?`` placeholders become ``%s``; times come back as ISO text, as SQLite stores them;
* the ``meta`` table is ``search_meta`` (PostgreSQL migration 4);
* ``col IN (SELECT value FROM json_each(?))`` becomes ``col = ANY(?)`` with a list;
* ``BEGIN IMMEDIATE`` (SQLite's one writer) is a transaction holding an advisory lock,
  so that catch-ups in several processes or machines apply each capture once;
  ``BEGIN`` (a snapshot for reading) is a REPEATABLE READ transaction.

Candidate blocks are found with ``LIKE`` (query.py), which the pg_trgm index serves.

>>> translate("SELECT value FROM meta WHERE id IN (SELECT value FROM json_each(?)) "
...           "AND key = ?", ('[1, 2]', "k"))
('SELECT value FROM search_meta WHERE id = ANY(%s) AND key = %s', ([1, 2], 'k'))
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import psycopg

from ..errors import StoreError
from ..model import iso
from ..store.postgres import PostgresStore, _configure

# Taken by every write transaction of the index; distinct from the migrations' lock.
SEARCH_LOCK = 0x6D6F6E69746F7202  # "monitor" + 2
_META = re.compile(r"\bmeta\b")
_MEMBERS = " IN (SELECT value FROM json_each(?))"


def translate(sql: str, params: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
    """SQLite's statement and parameters as PostgreSQL's (see the module's list)."""
    values = list(params)
    while _MEMBERS in sql:
        at = sql.index(_MEMBERS)
        position = sql.count("?", 0, at)
        values[position] = json.loads(values[position])
        sql = sql[:at] + " = ANY(?)" + sql[at + len(_MEMBERS) :]
    sql = _META.sub("search_meta", sql).replace("%", "%%").replace("?", "%s")
    return sql, tuple(values)


class _Rows:
    """What the index reads of a :class:`sqlite3.Cursor`."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = [tuple(iso(v) if isinstance(v, datetime) else v for v in r) for r in rows]

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._rows)


class PostgresSearchConnection:
    """The calls :class:`SearchIndex` makes of its SQLite connection, on PostgreSQL."""

    def __init__(self, store: PostgresStore) -> None:
        self.location = store.location
        try:
            self._conn: psycopg.Connection[Any] = psycopg.connect(store.url, autocommit=True)
            _configure(self._conn)
        except psycopg.Error as error:
            raise StoreError(f"cannot open the search index on {self.location}: {error}") from error

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Rows:
        try:
            if sql == "BEGIN IMMEDIATE":
                self._conn.execute("BEGIN")
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (SEARCH_LOCK,))
                return _Rows([])
            if sql == "BEGIN":
                sql = "BEGIN ISOLATION LEVEL REPEATABLE READ"
            cursor = self._conn.execute(*translate(sql, params))
            return _Rows(cursor.fetchall() if cursor.description else [])
        except psycopg.OperationalError as error:
            raise StoreError(f"lost the connection to {self.location}: {error}") from error

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            statement = translate(sql, rows[0])[0]
            if _MEMBERS in sql:  # only then do the parameters change (not per row else)
                rows = [translate(sql, r)[1] for r in rows]
            with self._conn.cursor() as cursor:
                cursor.executemany(statement, rows)

    def close(self) -> None:
        self._conn.close()
