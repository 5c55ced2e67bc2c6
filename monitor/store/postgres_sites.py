"""Sites and language versions on the PostgreSQL store: the SQLite store's records
(sites.py), the same portable SQL through the SQLite-style adapter (postgres_compat.py).

A discovery run is written in one recording transaction, as on SQLite: its run row,
page records, the watches new pages become, and its events, chained like a check's.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from .base import Row
from .postgres_compat import CompatConnection, CompatDatabase
from .sites import SQLiteSites

if TYPE_CHECKING:
    from .postgres import PostgresStore

# Taken by site registrations ("monitor" + 3): two `monitor check` runs of one site queue.
SITES_LOCK = 0x6D6F6E69746F7203


class PostgresSites(SQLiteSites):
    """Site and locale records in a :class:`~monitor.store.postgres.PostgresStore`."""

    _ORDER = "seq"
    _COUNTERPARTS = "(detail ->> 'counterparts')"

    def __init__(self, store: PostgresStore) -> None:
        self._store = store  # type: ignore[assignment]  # recording() is all it uses
        self._database = CompatDatabase(store, SITES_LOCK)

    def _transaction(self) -> AbstractContextManager[CompatConnection]:  # type: ignore[override]
        return self._database.transaction()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._database.reading() as db:
            return list(db.execute(sql, params).fetchall())

    def manifest_problems(self) -> list[str]:
        """A site's discovery runs keep their page lists as manifest blobs: each checked."""
        rows = self._query(
            "SELECT id, manifest_sha256 AS d FROM site_runs WHERE manifest_sha256 IS NOT NULL "
            "ORDER BY id"
        )
        blobs = self._database.store.blobs
        return [
            f"site run {row['id']}: manifest blob {row['d']} is missing or altered"
            for row in rows
            if not blobs.verify(row["d"])
        ]

    def _insert_run(self, db: Any, sql: str, params: Sequence[Any]) -> int:
        return int(db.execute(sql + " RETURNING id", params).fetchone()["id"])
