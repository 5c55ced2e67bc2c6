"""The PostgreSQL store's side of the evidence chain: reading it back, checkpoints, exports.

The chain itself is computed by the pure functions of ``monitor/evidence/chain.py``
inside the recording transaction (postgres_writer.py), exactly as the SQLite store does:
one global chain, so that a data directory copied here keeps its chain and its signed
checkpoints, and a checkpoint signs one head.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import psycopg

from ..evidence.chain import TABLES, Entry, Head
from ..model import iso

_BATCH = 1000
_COLUMNS = {
    "capture": (
        "id, watch, url, fetched_at, status, final_url, headers, redirects, body_sha256, "
        "body_size, text_sha256, encoding, elapsed_ms, attempts, outcome, error_class, error, "
        "fetched_with, source_capture, screenshot_sha256, chain_seq, chain_hash, source, "
        "archived_at, archive_url, archive_digest"
    ),
    "change": (
        "id, watch, kind, detected_at, from_capture, to_capture, removed, added, flags, "
        "detail, chain_seq, chain_hash, derived_from"
    ),
    "note": "id, kind, at, detail, chain_seq, chain_hash",
}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: iso(v) if isinstance(v, datetime) else v for k, v in row.items()}


class EvidenceReads:
    """Chain, checkpoint and export reads of :class:`PostgresStore` (a mixin)."""

    def connection(self) -> AbstractContextManager[psycopg.Connection[dict[str, Any]]]:
        raise NotImplementedError

    def _stream(self, sql: str, params: tuple[Any, ...] | list[Any]) -> Iterator[dict[str, Any]]:
        """Rows of a query, streamed with a server-side cursor (one snapshot)."""
        with (
            self.connection() as conn,
            conn.transaction(),
            conn.cursor(name="monitor_stream") as cursor,
        ):
            cursor.itersize = _BATCH
            cursor.execute(sql, params)  # type: ignore[arg-type]
            for row in cursor:
                yield _plain(row)

    def chain_head(self) -> Head:
        """Where the chain stands now (the head row every recording moves)."""
        with self.connection() as conn:
            row = conn.execute("SELECT seq, hash FROM chain_head").fetchone()
        assert row is not None
        return Head(int(row["seq"]), str(row["hash"]))

    def chain_entries(self, from_seq: int = 1) -> Iterator[Entry]:
        """Every chained record from a position on, in chain order, streamed."""

        def table(record_type: str) -> Iterator[tuple[int, Entry]]:
            sql = (
                f"SELECT {_COLUMNS[record_type]} FROM {TABLES[record_type]} "
                "WHERE chain_seq >= %s ORDER BY chain_seq"
            )
            # Each table in its own transaction: verify reads while workers write; a
            # record committed meanwhile is past the positions already walked.
            for row in self._stream(sql, (from_seq,)):
                yield row["chain_seq"], Entry(record_type, row["chain_seq"], row["chain_hash"], row)

        for _, entry in heapq.merge(*(table(kind) for kind in TABLES), key=lambda i: i[0]):
            yield entry

    def iter_captures(
        self, watches: tuple[str, ...] = (), since: str | None = None, until: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Capture rows in capture order, streamed (exports of any size)."""
        sql, params = f"SELECT {_COLUMNS['capture']} FROM captures WHERE true", list[Any]()
        if watches:
            sql += " AND watch = ANY(%s)"
            params.append(list(watches))
        if since:
            sql += " AND fetched_at >= %s"
            params.append(since)
        if until:
            sql += " AND fetched_at <= %s"
            params.append(until)
        yield from self._stream(sql + " ORDER BY id", params)

    def add_checkpoint(self, fields: dict[str, Any]) -> int:
        """Store a signed checkpoint (append-only)."""
        with self.connection() as conn:
            row = conn.execute(
                "INSERT INTO checkpoints (seq, head, at, payload, signature, timestamp, "
                "authority) VALUES (%(seq)s, %(head)s, %(at)s, %(payload)s, %(signature)s, "
                "%(timestamp)s, %(authority)s) RETURNING id",
                fields,
            ).fetchone()
        assert row is not None
        return int(row["id"])

    def checkpoints(self) -> list[dict[str, Any]]:
        with self.connection() as conn:
            rows = conn.execute("SELECT * FROM checkpoints ORDER BY id").fetchall()
        return [{**row, "timestamp": bytes(row["timestamp"]) if row["timestamp"] else None}
                for row in rows]  # fmt: skip
