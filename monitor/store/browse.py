"""Browsing the SQLite store (the dashboard's reads) and triage marks (its one write).

A mix-in of :class:`~monitor.store.sqlite.SQLiteStore`. Every read is one short
statement on the store's connection: in WAL mode a reader never blocks the writer
(``monitor run`` in another process), and holds no snapshot open between requests.
Triage marks are append-only rows (the database refuses updates and deletes, as for
captures and changes); a change's triage state is its latest mark.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from ..errors import ConfigError, NotFoundError
from ..model import iso, utc_now
from .archive_records import WITNESSES_COLUMN
from .base import TRIAGE_MARKS, UNTRIAGED, ChangeFilter, Row

# The triage marks of a change, oldest first, as one JSON array (a column of change rows).
TRIAGE_COLUMN = (
    "(SELECT json_group_array(json_object('mark', x.mark, 'note', x.note, "
    "'author', x.author, 'at', x.created_at)) "
    "FROM (SELECT * FROM triage x WHERE x.change = c.id ORDER BY x.id) x) AS triage"
)
# A change event with its watch's URL, both snapshots' raw-body hashes and its triage.
# ``source`` is "live" for a change seen by our own checks, or the archive's name when an
# archived copy is on either side; ``witnesses`` and ``superseded_at``: monitor/archives.
CHANGE_SELECT = (
    "SELECT c.*, w.url AS url, f.body_sha256 AS from_snapshot, "
    f"t.body_sha256 AS to_snapshot, {TRIAGE_COLUMN}, "
    "COALESCE(c.derived_from, f.source, t.source, 'live') AS source, "
    f"s.superseded_at AS superseded_at, {WITNESSES_COLUMN} FROM changes c "
    "JOIN watches w ON w.name = c.watch "
    "LEFT JOIN captures f ON f.id = c.from_capture "
    "JOIN captures t ON t.id = c.to_capture "
    "LEFT JOIN superseded_changes s ON s.change_id = c.id WHERE 1 = 1"
)
_LATEST_MARK = "(SELECT x.mark FROM triage x WHERE x.change = c.id ORDER BY x.id DESC LIMIT 1)"
_MAX_NOTE = 4000
_MAX_AUTHOR = 200

_OVERVIEW = """
SELECT w.name, w.url, w.config, w.state, w.created_at,
  (SELECT COUNT(*) FROM captures WHERE watch = w.name) AS captures,
  (SELECT MAX(fetched_at) FROM captures WHERE watch = w.name) AS last_check,
  (SELECT outcome FROM captures WHERE watch = w.name ORDER BY id DESC LIMIT 1) AS last_outcome,
  (SELECT MAX(detected_at) FROM changes WHERE watch = w.name AND kind = 'changed')
      AS last_change,
  (SELECT COUNT(*) FROM changes WHERE watch = w.name) AS events,
  (SELECT COUNT(*) FROM changes WHERE watch = w.name AND flags != '[]') AS flagged
FROM watches w ORDER BY w.name
"""


class SQLiteBrowsing:
    """What the dashboard reads beyond :class:`EvidenceStore`, and triage."""

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def watches_overview(self) -> list[Row]:
        """Every watch with its health: last check and outcome, last change, counts."""
        rows = self._query(_OVERVIEW)
        for row in rows:
            row["config"] = json.loads(row["config"])  # type: ignore[index]
            row["state"] = json.loads(row["state"])  # type: ignore[index]
        return rows

    def change_page(
        self, selected: ChangeFilter, limit: int = 50, offset: int = 0
    ) -> tuple[list[Row], int]:
        """One page of change events, newest first, and how many match in all."""
        where, params = _conditions(selected)
        total = self._query(
            "SELECT COUNT(*) AS n FROM changes c JOIN watches w ON w.name = c.watch "
            f"WHERE 1 = 1{where}",
            params,
        )[0]["n"]
        rows = self._query(
            f"{CHANGE_SELECT}{where} ORDER BY c.detected_at DESC, c.id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return rows, int(total)

    def change_index(self, watch: str) -> list[Row]:
        """A watch's change events without their detail (for timelines), oldest first."""
        return self._query(
            "SELECT id, kind, detected_at, from_capture, to_capture, flags FROM changes "
            "WHERE watch = ? ORDER BY id",
            (watch,),
        )

    def facets(self) -> dict[str, list[str]]:
        """The values the change filters can take: vendors, tags, kinds."""
        vendors = self._query(
            "SELECT DISTINCT json_extract(config, '$.vendor') AS v FROM watches "
            "WHERE v IS NOT NULL ORDER BY v"
        )
        tags = self._query(
            "SELECT DISTINCT t.value AS v FROM watches, json_each(watches.config, '$.tags') t "
            "ORDER BY v"
        )
        kinds = self._query("SELECT DISTINCT kind AS v FROM changes ORDER BY v")
        return {
            "vendors": [str(r["v"]) for r in vendors],
            "tags": [str(r["v"]) for r in tags],
            "kinds": [str(r["v"]) for r in kinds],
        }

    def add_triage(self, change_id: int, mark: str, note: str, author: str) -> int:
        """Append a triage mark to a change; returns its id.

        Marks are never edited or removed: a later mark supersedes an earlier one.
        """
        if mark not in TRIAGE_MARKS:
            raise ConfigError(f"triage mark {mark!r} is not one of {', '.join(TRIAGE_MARKS)}")
        author = " ".join(author.split())[:_MAX_AUTHOR]
        if not author:
            raise ConfigError("a triage mark needs an author")
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM changes WHERE id = ?", (change_id,)).fetchone() is None:
                raise NotFoundError(f"no change with id {change_id}")
            cursor = db.execute(
                "INSERT INTO triage (change, mark, note, author, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (change_id, mark, note.strip()[:_MAX_NOTE], author, iso(utc_now())),
            )
            return int(cursor.lastrowid or 0)


def _conditions(selected: ChangeFilter) -> tuple[str, list[Any]]:
    """SQL conditions (each starting with AND) and parameters for a change filter."""
    parts: list[str] = []
    params: list[Any] = []

    def add(sql: str, *values: Any) -> None:
        parts.append(f" AND {sql}")
        params.extend(values)

    if selected.watch:
        add("c.watch = ?", selected.watch)
    if selected.vendor:
        add("json_extract(w.config, '$.vendor') = ?", selected.vendor)
    if selected.tag:
        add(
            "EXISTS (SELECT 1 FROM json_each(w.config, '$.tags') t WHERE t.value = ?)", selected.tag
        )
    if selected.kinds:
        add(f"c.kind IN ({', '.join('?' for _ in selected.kinds)})", *selected.kinds)
    if selected.flagged:
        add("c.flags != '[]'")
    if selected.since is not None:
        add("c.detected_at >= ?", iso(selected.since))
    if selected.until is not None:
        add("c.detected_at < ?", iso(selected.until))
    if selected.triage == UNTRIAGED:
        add(f"{_LATEST_MARK} IS NULL")
    elif selected.triage:
        add(f"{_LATEST_MARK} = ?", selected.triage)
    return "".join(parts), params
