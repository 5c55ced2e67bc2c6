"""The evidence store on PostgreSQL (psycopg 3, a connection pool), blobs in S3 or a directory.

The same :class:`~monitor.store.base.EvidenceStore` protocol as the SQLite store, with the
same guarantees, held by the database rather than by one process:

- a check's capture row, its events and the watch's new state are one transaction,
  opened after the check's blobs were written (a PUT that returned, or an fsynced file);
- captures and changes are append-only: triggers refuse UPDATE, DELETE and TRUNCATE;
- many workers record at once: reading a watch's state inside the transaction locks the
  watch's row (``SELECT … FOR UPDATE``), so two checks of one watch are serialised and
  the second sees the first's state; the database refuses a ``changed`` event decided
  against a reference that is no longer the latest (a trigger, error ``MN002``) and a
  second ``changed`` event from one reference (a unique index);
- a distributed check run (a job of ``monitor worker``) records its capture together with
  its run key, so a retried job never records the same due check twice;
- the schema is versioned (postgres_migrations.py), migrated under an advisory lock;
- public-archive records and triage marks (postgres_archives.py), the dashboard's reads
  (postgres_browse.py), sites (postgres_sites.py) and the alert outbox
  (notify/outbox.py through postgres_compat.py) live in the same database.

Rows read back look exactly like the SQLite store's: times as UTC ISO-8601 text with a
``Z``, JSON columns as the JSON text that was written.

>>> redact("postgresql://monitor:s3cret@db.example:5432/evidence")
'postgresql://monitor:***@db.example:5432/evidence'
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.string import TextLoader
from psycopg_pool import ConnectionPool, PoolTimeout

from ..analysis.events import WatchState
from ..errors import NotFoundError, StoreError
from ..model import iso, utc_now
from .base import BlobBackend, Row
from .postgres_archives import (
    CAPTURE_COLUMNS,
    CHANGE_SELECT,
    PostgresArchiveRecords,
    compact_json_columns,
)
from .postgres_browse import PostgresBrowsing
from .postgres_evidence import EvidenceReads
from .postgres_migrations import LATEST, MIGRATION_LOCK, MIGRATIONS
from .postgres_writer import CHECK_RUN, AlreadyRecordedError, StaleReferenceError, _Writer
from .sites import SiteRecords

log = logging.getLogger(__name__)

POOL_SIZE = 8  # connections per process: the check's worker threads plus readers
CONNECT_TIMEOUT = 30.0


_APPEND_ONLY_TRIGGERS = (
    "captures_append_only",
    "captures_no_truncate",
    "changes_append_only",
    "changes_no_truncate",
    "changes_from_reference",
    # schema 2 and 3: archives, alerts, triage, sites
    "superseded_append_only",
    "witnesses_no_delete",
    "notify_delivered_is_final",
    "notify_deliveries_no_delete",
    "triage_append_only",
    "site_runs_append_only",
)
_CAPTURE_COLUMNS = CAPTURE_COLUMNS
_CHANGE_SELECT = CHANGE_SELECT


def redact(url: str) -> str:
    """A connection URL without its password, for messages and logs."""
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)


def _configure(conn: psycopg.Connection[Any]) -> None:
    # JSON read back as the text that was written (as SQLite gives it), not re-serialised.
    conn.adapters.register_loader("json", TextLoader)
    conn.execute("SET TIME ZONE 'UTC'")


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the SQLite store gives it: times as ISO text."""
    return {k: iso(v) if isinstance(v, datetime) else v for k, v in row.items()}


class PostgresStore(EvidenceReads, PostgresArchiveRecords, PostgresBrowsing):
    """Records in PostgreSQL, bytes in a blob back end (an :class:`EvidenceStore`).

    Safe to share between threads; one pool per process.
    """

    def __init__(
        self, url: str, blobs: BlobBackend, *, pool_size: int = POOL_SIZE, migrate: bool = True
    ) -> None:
        self.url = url
        self.blobs = blobs
        self.location = redact(url)
        self.remote = True  # round trips over a network: checks call it from threads
        self._pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            kwargs={"autocommit": True, "row_factory": dict_row},
            configure=_configure,
            open=False,
            name="monitor-store",
        )
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except PoolTimeout as error:
            self._pool.close()
            raise StoreError(
                f"cannot connect to {self.location} within {CONNECT_TIMEOUT:g}s. Check that "
                "the server runs, the URL (host, port, database, user) and the password."
            ) from error
        if migrate:
            self.migrate()

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """A pooled connection (autocommit; open a transaction with ``conn.transaction()``)."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.OperationalError as error:
            raise StoreError(f"lost the connection to {self.location}: {error}") from error

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self.connection() as conn:
            return [_plain(row) for row in conn.execute(sql, params).fetchall()]

    # -- schema -------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply the migrations this database lacks; returns its schema version."""
        with self.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS monitor_schema "
                "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            applied = {row["version"] for row in conn.execute("SELECT version FROM monitor_schema")}
            if applied and max(applied) > LATEST:
                raise StoreError(
                    f"{self.location} has schema version {max(applied)}, newer than this "
                    f"monitor ({LATEST}): upgrade monitor before using this database"
                )
            for version, sql in MIGRATIONS:
                if version not in applied:
                    conn.execute(sql)  # type: ignore[arg-type]  # our own constant DDL
                    conn.execute("INSERT INTO monitor_schema (version) VALUES (%s)", (version,))
                    log.info("%s: applied schema migration %d", self.location, version)
        return LATEST

    def schema_version(self) -> int:
        rows = self._query("SELECT max(version) AS v FROM monitor_schema")
        return int(rows[0]["v"] or 0)

    # -- watches ------------------------------------------------------------------

    def ensure_watches(self, watches: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
        """Register watches (or refresh their configuration) in one transaction."""
        now = utc_now()
        with self.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO watches (name, url, config, created_at) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET url = excluded.url, config = excluded.config "
                "WHERE watches.url IS DISTINCT FROM excluded.url "
                "OR watches.config::text IS DISTINCT FROM excluded.config::text",
                [(n, u, json.dumps(c, ensure_ascii=False), now) for n, u, c in watches],
            )

    def watch_config(self, name: str) -> dict[str, Any]:
        self.require_watch(name)
        rows = self._query("SELECT config FROM watches WHERE name = %s", (name,))
        return dict(json.loads(rows[0]["config"]))

    def state(self, name: str) -> WatchState:
        rows = self._query("SELECT state FROM watches WHERE name = %s", (name,))
        return WatchState.from_dict(json.loads(rows[0]["state"])) if rows else WatchState()

    def last_checks(self) -> dict[str, datetime]:
        """When each watch was last checked: one index probe per watch, not a scan."""
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT w.name, (SELECT c.fetched_at FROM captures c WHERE c.watch = w.name "
                "AND c.source IS NULL ORDER BY c.id DESC LIMIT 1) AS at FROM watches w"
            ).fetchall()
        return {r["name"]: r["at"] for r in rows if r["at"] is not None}

    def require_watch(self, watch: str) -> None:
        if not self._query("SELECT 1 FROM watches WHERE name = %s", (watch,)):
            names = self._query("SELECT name FROM watches ORDER BY name LIMIT 20")
            known = ", ".join(r["name"] for r in names) or "none"
            raise NotFoundError(f"no watch named {watch!r} in {self.location} (known: {known})")

    def save_settings(self, name: str, value: dict[str, Any]) -> None:
        """Keep a named settings document (what every worker should check with)."""
        self._query(
            "INSERT INTO run_settings (name, value) VALUES (%s, %s) ON CONFLICT (name) "
            "DO UPDATE SET value = excluded.value, updated_at = now() RETURNING name",
            (name, json.dumps(value, ensure_ascii=False)),
        )

    def load_settings(self, name: str) -> dict[str, Any] | None:
        rows = self._query("SELECT value FROM run_settings WHERE name = %s", (name,))
        return dict(json.loads(rows[0]["value"])) if rows else None

    def sites(self) -> SiteRecords:
        """The records of documentation sites and language versions (postgres_sites.py)."""
        from .postgres_sites import PostgresSites

        return PostgresSites(self)

    # -- blobs --------------------------------------------------------------------

    def put_blob(self, data: bytes, digest: str | None = None) -> str:
        return self.blobs.put(data, digest)

    def get_blob(self, digest: str) -> bytes:
        return self.blobs.get(digest)

    def blob_location(self, digest: str) -> str:
        return self.blobs.location(digest)

    # -- recording a check --------------------------------------------------------

    @contextmanager
    def recording(self) -> Iterator[_Writer]:
        """One check's transaction: read the state (locking the watch), add rows, set state.

        Everything written through the writer commits together or not at all.
        """
        with self.connection() as conn, conn.transaction():
            writer = _Writer(conn, CHECK_RUN.get())
            yield writer
            writer.finish()

    def run_context(self, watch: str, key: str) -> tuple[dict[str, Any], bool]:
        """A watch's configuration and whether a run key is recorded (one round trip)."""
        rows = self._query(
            "SELECT config, EXISTS (SELECT 1 FROM check_runs WHERE key = %s) AS recorded "
            "FROM watches WHERE name = %s",
            (key, watch),
        )
        if not rows:
            self.require_watch(watch)
        return dict(json.loads(rows[0]["config"])), bool(rows[0]["recorded"])

    def check_run_recorded(self, key: str) -> bool:
        """True when a distributed check run with this key has committed its capture."""
        return bool(self._query("SELECT 1 FROM check_runs WHERE key = %s", (key,)))

    # -- reading ------------------------------------------------------------------

    def capture(self, capture_id: int) -> Row:
        rows = self._query(f"SELECT {_CAPTURE_COLUMNS} FROM captures WHERE id = %s", (capture_id,))
        if not rows:
            raise NotFoundError(f"no capture with id {capture_id}")
        return rows[0]

    def bytes_capture(self, capture: Row) -> Row | None:
        """The capture whose raw bytes a capture's text came from (see the SQLite store)."""
        if capture["body_sha256"]:
            return capture
        rows = self._query(
            f"SELECT {_CAPTURE_COLUMNS} FROM captures WHERE watch = %s AND id < %s "
            "AND text_sha256 = %s AND body_sha256 IS NOT NULL ORDER BY id DESC LIMIT 1",
            (capture["watch"], capture["id"], capture["text_sha256"]),
        )
        return rows[0] if rows else None

    def change(self, change_id: int) -> Row:
        rows = compact_json_columns(self._query(_CHANGE_SELECT + " AND c.id = %s", (change_id,)))
        if not rows:
            raise NotFoundError(f"no change with id {change_id}; list them with 'monitor changes'")
        return rows[0]

    def changes(
        self, since: datetime | None = None, watch: str | None = None, flagged: bool = False
    ) -> list[Row]:
        """Change events, oldest first, joined with their snapshots' body hashes.

        Derived events that a later import superseded are kept but not listed.
        """
        sql, params = _CHANGE_SELECT + " AND s.change_id IS NULL", list[Any]()
        if since is not None:
            sql += " AND c.detected_at >= %s"
            params.append(since)
        if watch is not None:
            sql += " AND c.watch = %s"
            params.append(watch)
        if flagged:
            sql += " AND c.flags::text <> '[]'"
        return compact_json_columns(self._query(sql + " ORDER BY c.detected_at, c.id", params))

    def counts(self) -> dict[str, int]:
        """How many watches, captures and changes the store holds."""
        rows = self._query(
            "SELECT (SELECT count(*) FROM watches) AS watches, "
            "(SELECT count(*) FROM captures) AS captures, (SELECT count(*) FROM changes) AS changes"
        )
        return {k: int(v) for k, v in rows[0].items()}

    # -- integrity ----------------------------------------------------------------

    def verify(self) -> list[str]:
        """Problems found: schema, append-only triggers, every blob against its hash."""
        problems: list[str] = []
        version = self.schema_version()
        if version != LATEST:
            problems.append(f"postgresql: schema version {version}, expected {LATEST}")
        enabled = {
            r["tgname"]
            for r in self._query(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'"
            )
        }
        problems += [
            f"postgresql: trigger {name} is missing or disabled: records are not protected"
            for name in _APPEND_ONLY_TRIGGERS
            if name not in enabled
        ]
        from .postgres_sites import PostgresSites

        manifests = PostgresSites(self).manifest_problems()
        return problems + self.blob_problems() + self.witness_blob_problems() + manifests

    def blob_problems(self) -> list[str]:
        """One line per blob that is missing or does not hash to its name, naming the first
        capture that uses it (the SQLite store's wording). Distinct blobs are re-hashed in
        parallel where the back end can (S3: one request each)."""
        uses = self._query(
            "SELECT d, min(id) AS first, count(*) AS n, kind FROM ("
            "SELECT body_sha256 AS d, id, 'body' AS kind FROM captures WHERE body_sha256 IS "
            "NOT NULL UNION ALL SELECT text_sha256, id, 'text' FROM captures WHERE text_sha256 "
            "IS NOT NULL UNION ALL SELECT screenshot_sha256, id, 'screenshot' FROM captures "
            "WHERE screenshot_sha256 IS NOT NULL) AS used GROUP BY d, kind ORDER BY first, kind"
        )
        bad = set(verify_blobs(self.blobs, sorted({u["d"] for u in uses})))
        problems = []
        for use in (u for u in uses if u["d"] in bad):
            state = "altered" if self.blobs.exists(use["d"]) else "missing"
            also = f" (and {use['n'] - 1} later capture(s))" if use["n"] > 1 else ""
            name = f"capture {use['first']}{also}"
            problems.append(f"{name}: {use['kind']} blob {use['d']} is {state}")
        return problems


def verify_blobs(blobs: BlobBackend, digests: list[str]) -> list[str]:
    """The digests whose blobs are missing or altered (in parallel where the back end can)."""
    many = getattr(blobs, "verify_many", None)
    if many is not None:
        return list(many(digests))
    return [d for d in digests if not blobs.verify(d)]


__all__ = [
    "CHECK_RUN",
    "AlreadyRecordedError",
    "PostgresStore",
    "StaleReferenceError",
    "redact",
    "verify_blobs",
]
