"""Copy a data directory (SQLite + blob directory) into a PostgreSQL store: ``monitor migrate``.

Every blob is read from the directory, re-hashed and written to the target's blob back
end before the rows that point at it are committed, so the target never holds a row
whose bytes are missing, and a damaged blob stops the copy with the capture that names
it. Rows keep their ids (a change quoted as ``monitor diff 12`` stays 12), their times
and their JSON text byte for byte.

Public-archive records (imported captures' provenance, derived and superseded events,
witnesses with their fetched-back copies), triage marks and sites (pages, runs and
their manifest blobs, language-version state) come along; the alert outbox does not
(routes registered on the new store start from its newest event).

Resumable and idempotent: each batch of rows commits together with the copy's progress
(``migrations_in``), so a copy stopped at any moment resumes after its last batch, and
running it again copies only what the directory gained since. At the end every watch's
state is brought over and the id sequences are moved past the copied ids.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..errors import StoreError
from .blobs import sha256_hex
from .postgres import PostgresStore
from .sqlite import SQLiteStore

BATCH = 2000  # rows per transaction
UPLOAD_THREADS = 16

_CAPTURE_COLUMNS = (
    "id", "watch", "url", "fetched_at", "status", "final_url", "headers", "redirects",
    "body_sha256", "body_size", "text_sha256", "encoding", "elapsed_ms", "attempts",
    "outcome", "error_class", "error", "fetched_with", "source_capture", "screenshot_sha256",
    "chain_seq", "chain_hash", "source", "archived_at", "archive_url", "archive_digest",
)  # fmt: skip
_CHANGE_COLUMNS = (
    "id", "watch", "kind", "detected_at", "from_capture", "to_capture", "removed", "added",
    "flags", "detail", "chain_seq", "chain_hash", "derived_from",
)  # fmt: skip
# Tables copied whole at the end (few rows; ids kept): the chain's notes and checkpoints.
_SMALL_TABLES = {
    "chain_notes": ("id", "kind", "at", "detail", "chain_seq", "chain_hash"),
    "checkpoints": ("id", "seq", "head", "at", "payload", "signature", "timestamp", "authority"),
    # Public archives and triage: append-only too (ids kept).
    "superseded_changes": ("change_id", "superseded_at"),
    "triage": ("id", "change", "mark", "note", "author", "created_at"),
}
_KEYS = {"superseded_changes": "change_id"}
# Rows whose state moves on, copied with their latest state (a re-run brings it): columns
# and conflict key. Witnesses (pending, archived, failed), sites and language versions;
# site runs are append-only (ids kept).
_MOVING_TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "witnesses": (
        ("id", "change_id", "archive", "url", "status", "reason", "job_id", "archived_url",
         "archive_timestamp", "requested_at", "submitted_at", "finished_at", "attempts",
         "next_attempt_at", "copy"),
        "id",
    ),
    "sites": (("name", "config", "scope", "baselined", "created_at"), "name"),
    "site_runs": (
        ("id", "site", "started_at", "finished_at", "complete", "baseline", "listed", "pages",
         "summary", "sources", "errors", "manifest_sha256"),
        "id",
    ),
    "site_pages": (
        ("site", "watch", "url", "status", "missing_runs", "listed_capture", "first_run",
         "last_run"),
        "site, watch",
    ),
    "locale_state": (("counterparts", "pair", "texts", "gaps", "updated_at"), "counterparts, pair"),
}  # fmt: skip


class MigrationError(StoreError):
    """The copy found something it must not carry over (a damaged blob, a clash)."""


@dataclass
class CopyReport:
    watches: int = 0
    captures: int = 0
    changes: int = 0
    blobs: int = 0
    resumed_after_capture: int = 0
    resumed_after_change: int = 0


def copy_directory(
    source: SQLiteStore,
    target: PostgresStore,
    *,
    batch: int = BATCH,
    progress: Callable[[str], None] | None = None,
) -> CopyReport:
    """Copy ``source`` into ``target``; returns what this run copied."""
    say = progress or (lambda _message: None)
    key = source.location
    report = CopyReport()
    _claim(target, key)
    done_captures, done_changes = _progress(target, key)
    report.resumed_after_capture, report.resumed_after_change = done_captures, done_changes
    report.watches = _copy_watches(source, target)
    say(f"{report.watches} watch(es); resuming after capture {done_captures}, "
        f"change {done_changes}")  # fmt: skip
    copied: set[str] = set()
    with ThreadPoolExecutor(UPLOAD_THREADS, thread_name_prefix="monitor-migrate") as pool:
        while rows := source._query(
            f"SELECT {', '.join(_CAPTURE_COLUMNS)} FROM captures WHERE id > ? ORDER BY id LIMIT ?",
            (done_captures, batch),
        ):
            report.blobs += _copy_blobs(source, target, rows, copied, pool)
            done_captures = int(rows[-1]["id"])
            _insert(target, "captures", _CAPTURE_COLUMNS, rows, key, "captures_done", done_captures)
            report.captures += len(rows)
            say(f"captures: {report.captures} copied (to id {done_captures}), {report.blobs} blobs")
    while rows := source._query(
        f"SELECT {', '.join(_CHANGE_COLUMNS)} FROM changes WHERE id > ? ORDER BY id LIMIT ?",
        (done_changes, batch),
    ):
        done_changes = int(rows[-1]["id"])
        _insert(target, "changes", _CHANGE_COLUMNS, rows, key, "changes_done", done_changes)
        report.changes += len(rows)
        say(f"changes: {report.changes} copied (to id {done_changes})")
    report.blobs += _copy_other_blobs(source, target, copied)
    _finish(source, target, key)
    return report


def _claim(target: PostgresStore, key: str) -> None:
    """Refuse to mix: the target must be empty or hold only copies from this directory."""
    with target.connection() as conn:
        others = conn.execute(
            "SELECT source FROM migrations_in WHERE source <> %s", (key,)
        ).fetchall()
        mine = conn.execute("SELECT 1 FROM migrations_in WHERE source = %s", (key,)).fetchone()
        captures = conn.execute("SELECT count(*) AS n FROM captures").fetchone()
    if others or (mine is None and captures and captures["n"]):
        raise MigrationError(
            f"{target.location} already holds other evidence; copy a data directory into an "
            "empty database (ids are kept, so two histories cannot share one)"
        )
    if mine is None:
        with target.connection() as conn:
            conn.execute(
                "INSERT INTO migrations_in (source) VALUES (%s) ON CONFLICT DO NOTHING", (key,)
            )


def _progress(target: PostgresStore, key: str) -> tuple[int, int]:
    with target.connection() as conn:
        row = conn.execute(
            "SELECT captures_done, changes_done FROM migrations_in WHERE source = %s", (key,)
        ).fetchone()
    assert row is not None
    return int(row["captures_done"]), int(row["changes_done"])


def _copy_watches(source: SQLiteStore, target: PostgresStore) -> int:
    rows = source._query("SELECT name, url, config, created_at FROM watches ORDER BY name")
    with target.connection() as conn, conn.transaction(), conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO watches (name, url, config, created_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET url = excluded.url, config = excluded.config",
            [(r["name"], r["url"], r["config"], r["created_at"]) for r in rows],
        )
    return len(rows)


def _copy_blobs(
    source: SQLiteStore,
    target: PostgresStore,
    rows: Sequence[Mapping[str, Any]],
    copied: set[str],
    pool: ThreadPoolExecutor,
) -> int:
    """Read, re-hash and write every blob these rows name (before the rows commit)."""
    wanted: dict[str, int] = {}
    for row in rows:
        for column in ("body_sha256", "text_sha256", "screenshot_sha256"):
            digest = row[column]
            if digest and digest not in copied:
                wanted.setdefault(digest, int(row["id"]))

    def one(item: tuple[str, int]) -> None:
        digest, capture_id = item
        try:
            data = source.blobs.get(digest)
        except Exception as error:
            raise MigrationError(
                f"capture {capture_id}: blob {digest} cannot be read ({error}); nothing of this "
                "batch was copied. Run `monitor verify` on the directory."
            ) from error
        if sha256_hex(data) != digest:
            raise MigrationError(
                f"capture {capture_id}: blob {digest} does not match its hash; nothing of this "
                "batch was copied. Run `monitor verify` on the directory."
            )
        target.blobs.put(data, digest)

    list(pool.map(one, wanted.items()))
    copied.update(wanted)
    return len(wanted)


def _insert(
    target: PostgresStore,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    key: str,
    progress_column: str,
    done: int,
) -> None:
    """One batch and its progress mark, in one transaction (COPY: fast, exact text)."""
    with target.connection() as conn, conn.transaction():
        # History's references have moved on since; this transaction copies, not decides.
        conn.execute("SET LOCAL monitor.copying = 'on'")
        with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        conn.execute(
            f"UPDATE migrations_in SET {progress_column} = %s WHERE source = %s", (done, key)
        )


def _finish(source: SQLiteStore, target: PostgresStore, key: str) -> None:
    """Bring the watches' states, the chain's notes, checkpoints and head over, and move
    the id sequences past the copied ids."""
    states = source._query("SELECT name, state FROM watches")
    head = source.chain_head()
    with target.connection() as conn, conn.transaction():
        for table, columns in _SMALL_TABLES.items():
            rows = source._query(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {columns[0]}")
            with conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                    f"({', '.join(['%s'] * len(columns))}) "
                    f"ON CONFLICT ({_KEYS.get(table, 'id')}) DO NOTHING",
                    [tuple(r[c] for c in columns) for r in rows],
                )
        _copy_moving(source, conn)
        conn.execute("UPDATE chain_head SET seq = %s, hash = %s", (head.seq, head.hash))
        with conn.cursor() as cursor:
            cursor.executemany(
                "UPDATE watches SET state = %s, reference = %s WHERE name = %s",
                [(r["state"], json.loads(r["state"]).get("reference"), r["name"]) for r in states],
            )
        for table in (
            "captures", "changes", "chain_notes", "checkpoints", "triage", "witnesses",
            "site_runs",
        ):  # fmt: skip
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"greatest((SELECT max(id) FROM {table}), 1))"
            )
        conn.execute("UPDATE migrations_in SET finished_at = now() WHERE source = %s", (key,))


# Blobs named outside capture rows: (query giving id and digest d, what a row is).
_OTHER_BLOBS = (
    (  # the archived copies fetched back for witnesses
        "SELECT id, json_extract(copy, '$.sha256') AS d FROM witnesses "
        "WHERE json_extract(copy, '$.sha256') NOT NULL ORDER BY id",
        "witness",
    ),
    (  # the page lists of site discovery runs
        "SELECT id, manifest_sha256 AS d FROM site_runs WHERE manifest_sha256 NOT NULL",
        "site run",
    ),
)


def _copy_other_blobs(source: SQLiteStore, target: PostgresStore, copied: set[str]) -> int:
    """Witness copies and site manifests, re-hashed on the way like any blob."""
    count = 0
    for query, what in _OTHER_BLOBS:
        for row in source._query(query):
            digest = str(row["d"])
            if digest in copied:
                continue
            data = source.blobs.get(digest) if source.blobs.exists(digest) else b""
            if sha256_hex(data) != digest:
                raise MigrationError(
                    f"{what} {row['id']}: blob {digest} is missing or does not match its "
                    "hash. Run `monitor verify` on the directory."
                )
            target.blobs.put(data, digest)
            copied.add(digest)
            count += 1
    return count


def _copy_moving(source: SQLiteStore, conn: Any) -> None:
    """Witnesses, sites, their pages (in the order first recorded), runs, locale state."""
    for table, (columns, key) in _MOVING_TABLES.items():
        names = ", ".join(columns)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key.split(", "))
        action = "DO NOTHING" if table == "site_runs" else f"DO UPDATE SET {updates}"
        order = "rowid" if table == "site_pages" else key
        rows = source._query(f"SELECT {names} FROM {table} ORDER BY {order}")
        with conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))}) "
                f"ON CONFLICT ({key}) {action}",
                [tuple(r[c] for c in columns) for r in rows],
            )


def compare_counts(source: SQLiteStore, target: PostgresStore) -> list[str]:
    """Differences in row counts between the directory and the copy (none after a copy)."""
    problems = []
    for table in ("watches", "captures", "changes", "witnesses", "superseded_changes"):
        mine = source._query(f"SELECT count(*) AS n FROM {table}")[0]["n"]
        theirs = target._query(f"SELECT count(*) AS n FROM {table}")[0]["n"]
        if mine != theirs:
            problems.append(f"{table}: {mine} in the directory, {theirs} in {target.location}")
    return problems


__all__ = ["CopyReport", "MigrationError", "compare_counts", "copy_directory"]
