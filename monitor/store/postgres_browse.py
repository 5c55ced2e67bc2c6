"""Browsing the PostgreSQL store: the dashboard's reads (``monitor serve``), as browse.py
does for SQLite, row for row.

Watch configurations are ``json`` columns: a vendor is ``config ->> 'vendor'``, a tag an
element of ``config -> 'tags'`` (read as ``jsonb`` for its ``?`` operator). Every read is
one short statement on a pooled connection; nothing holds a snapshot between requests.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .base import UNTRIAGED, ChangeFilter, Row
from .postgres_archives import CHANGE_SELECT, compact_json_columns

_OVERVIEW = """
SELECT w.name, w.url, w.config, w.state, w.created_at,
  (SELECT count(*) FROM captures WHERE watch = w.name) AS captures,
  (SELECT max(fetched_at) FROM captures WHERE watch = w.name) AS last_check,
  (SELECT outcome FROM captures WHERE watch = w.name ORDER BY id DESC LIMIT 1) AS last_outcome,
  (SELECT max(detected_at) FROM changes WHERE watch = w.name AND kind = 'changed')
      AS last_change,
  (SELECT count(*) FROM changes WHERE watch = w.name) AS events,
  (SELECT count(*) FROM changes WHERE watch = w.name AND flags::text <> '[]') AS flagged
FROM watches w ORDER BY w.name
"""
_LATEST_MARK = "(SELECT x.mark FROM triage x WHERE x.change = c.id ORDER BY x.id DESC LIMIT 1)"
# A watch's tags as a jsonb array whatever the configuration says (absent, null, a list).
_TAGS = (
    "(CASE WHEN jsonb_typeof(w.config::jsonb -> 'tags') = 'array' "
    "THEN w.config::jsonb -> 'tags' ELSE '[]'::jsonb END)"
)


class PostgresBrowsing:
    """What the dashboard reads beyond the evidence store protocol (a mixin)."""

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError  # provided by PostgresStore

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
            "SELECT count(*) AS n FROM changes c JOIN watches w ON w.name = c.watch "
            f"WHERE true{where}",
            params,
        )[0]["n"]
        rows = self._query(
            f"{CHANGE_SELECT}{where} ORDER BY c.detected_at DESC, c.id DESC LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        return compact_json_columns(rows), int(total)

    def change_index(self, watch: str) -> list[Row]:
        """A watch's change events without their detail (for timelines), oldest first."""
        return self._query(
            "SELECT id, kind, detected_at, from_capture, to_capture, flags FROM changes "
            "WHERE watch = %s ORDER BY id",
            (watch,),
        )

    def facets(self) -> dict[str, list[str]]:
        """The values the change filters can take: vendors, tags, kinds."""
        vendors = self._query(
            "SELECT DISTINCT config ->> 'vendor' AS v FROM watches "
            "WHERE config ->> 'vendor' IS NOT NULL ORDER BY v"
        )
        tags = self._query(
            f"SELECT DISTINCT t AS v FROM watches w, jsonb_array_elements_text({_TAGS}) t "
            "ORDER BY v"
        )
        kinds = self._query("SELECT DISTINCT kind AS v FROM changes ORDER BY v")
        return {
            "vendors": [str(r["v"]) for r in vendors],
            "tags": [str(r["v"]) for r in tags],
            "kinds": [str(r["v"]) for r in kinds],
        }


def _conditions(selected: ChangeFilter) -> tuple[str, list[Any]]:
    """SQL conditions (each starting with AND) and parameters for a change filter."""
    parts: list[str] = []
    params: list[Any] = []

    def add(sql: str, *values: Any) -> None:
        parts.append(f" AND {sql}")
        params.extend(values)

    if selected.watch:
        add("c.watch = %s", selected.watch)
    if selected.vendor:
        add("w.config ->> 'vendor' = %s", selected.vendor)
    if selected.tag:
        add(f"{_TAGS} ? %s", selected.tag)
    if selected.kinds:
        add("c.kind = ANY(%s)", list(selected.kinds))
    if selected.flagged:
        add("c.flags::text <> '[]'")
    if selected.since is not None:
        add("c.detected_at >= %s", selected.since)
    if selected.until is not None:
        add("c.detected_at < %s", selected.until)
    if selected.triage == UNTRIAGED:
        add(f"{_LATEST_MARK} IS NULL")
    elif selected.triage:
        add(f"{_LATEST_MARK} = %s", selected.triage)
    return "".join(parts), params
