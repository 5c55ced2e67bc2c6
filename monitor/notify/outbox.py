"""The outbox and the deliveries ledger, beside the evidence: in the data directory's SQLite
database, or in the PostgreSQL store's tables (notify/database.py).

Why a cursor over the ``changes`` table rather than outbox rows written by the check:
change rows are append-only and committed in the same transaction as their check, so
the moment an event exists it is already durably in every route's inbox ("written in
the same transaction" for free), and the check, the store and its other back ends need
not know that notifications exist. SQLite gives ids in commit order (one writer at a
time, no deletes), so "after the cursor" never skips a late commit. PostgreSQL draws a
change's id while its transaction holds the evidence chain's lock, so ids commit in
order there too (store/postgres_writer.py).

Three tables (migration 3 in ``store/migrations.py``, 2 in ``postgres_migrations.py``):

``notify_routes``
    one row per route name: its cursor (the last change id it considered), when it was
    first seen (a new route starts from then, not from the whole history), when its
    last digest period closed, and its public configuration (masked URLs only).
``notify_messages``
    the outbox: a message is a kind (event, summary, digest) and the change ids it
    covers, written in the same transaction that moves its route's cursor, so that
    planning happens exactly once whatever is killed when. ``done_at`` is set once
    every destination of the route has it.
``notify_deliveries``
    the ledger: one row per message and destination (its masked URL), with attempts,
    the next attempt's time, a lease, the last (scrubbed) error and ``delivered_at``. A
    delivered row is final: a trigger refuses to change it, and nothing delivered is
    ever sent again.

Delivery is at-least-once. The window for a duplicate is between a destination
accepting a message and the commit of its ``delivered_at`` (normally milliseconds): a
process killed exactly there sends that message again after a restart. Any other kill
loses nothing and duplicates nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from ..config.routes import Route
from ..model import iso, parse_time
from .database import Connection, OutboxDatabase, SQLiteDatabase
from .event import Event, event_from_row
from .plan import Candidate, Plan, RouteState
from .records import Delivery, Due, lease_owner, owner_dead

INBOX_LIMIT = 10000  # changes read per route and pass (a bigger backlog takes more passes)
LEASE_SECONDS = 180.0  # a claimed delivery is another process's for this long


class Outbox:
    """The notification tables of one store: a data directory's SQLite file (its own
    connection) or a PostgreSQL store's tables (``OutboxDatabase``)."""

    def __init__(self, database: str | os.PathLike[str] | OutboxDatabase) -> None:
        self._database: OutboxDatabase = (
            SQLiteDatabase(database) if isinstance(database, (str, os.PathLike)) else database
        )
        self.location = self._database.location
        self.owner = lease_owner()

    def close(self) -> None:
        self._database.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[Connection]:
        return self._database.transaction()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._database.reading() as db:
            return db.execute(sql, params).fetchall()

    # -- routes ---------------------------------------------------------------------

    def register(self, routes: Sequence[Route], public: dict[str, Any], now: datetime) -> None:
        """Record new routes (starting after the newest change) and refresh known ones."""
        with self.transaction() as db:
            newest = db.execute("SELECT COALESCE(MAX(id), 0) FROM changes").fetchone()[0]
            for route in routes:
                config = json.dumps(public[route.name], ensure_ascii=False)
                db.execute(
                    "INSERT INTO notify_routes (name, cursor, created_at, config, updated_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                    "config = excluded.config, updated_at = excluded.updated_at",
                    (route.name, newest, iso(now), config, iso(now)),
                )

    def route_rows(self) -> list[Any]:
        return self._rows("SELECT * FROM notify_routes ORDER BY name")

    def state(self, route: Route, now: datetime) -> RouteState | None:
        with self._database.reading() as db:
            return self._state(db, route, now)

    def _state(self, db: Connection, route: Route, now: datetime) -> RouteState | None:
        row = db.execute("SELECT * FROM notify_routes WHERE name = ?", (route.name,)).fetchone()
        if row is None:
            return None
        since = iso(now - timedelta(seconds=route.rate_seconds))
        sent = db.execute(
            "SELECT COUNT(*) FROM notify_messages WHERE route = ? AND created_at > ?",
            (route.name, since),
        ).fetchone()[0]
        return RouteState(
            cursor=row["cursor"],
            created_at=parse_time(row["created_at"]),
            last_digest_at=parse_time(row["last_digest_at"]) if row["last_digest_at"] else None,
            sent_in_window=sent,
        )

    def _inbox(self, db: Connection, route: Route, cursor: int) -> list[Candidate]:
        rows = db.execute(
            "SELECT c.id, c.watch, c.kind, c.detected_at, "
            "CAST(c.flags AS TEXT) != '[]' AS flagged, c.derived_from IS NULL AS live, "
            "w.config AS config FROM changes c JOIN watches w ON w.name = c.watch "
            "WHERE c.id > ? ORDER BY c.id LIMIT ?",
            (cursor, INBOX_LIMIT),
        ).fetchall()
        candidates = []
        for row in rows:
            config = json.loads(row["config"])
            # Events derived from imported archive copies describe the past (an import
            # run shows them; `monitor changes` lists them): they are never alerted.
            wanted = bool(row["live"]) and route.wants(
                row["watch"],
                config.get("tags") or (),
                config.get("vendor"),
                row["kind"],
                bool(row["flagged"]),
            )
            candidates.append(Candidate(row["id"], parse_time(row["detected_at"]), wanted))
        return candidates

    def plan_route(
        self,
        route: Route,
        now: datetime,
        decide: Any,
    ) -> Plan | None:
        """Run ``decide(state, inbox) -> Plan`` and write its messages and cursor atomically."""
        with self.transaction() as db:
            state = self._state(db, route, now)
            if state is None:
                return None
            plan: Plan = decide(state, self._inbox(db, route, state.cursor))
            for message in plan.messages:
                db.execute(
                    "INSERT INTO notify_messages (route, kind, changes, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (route.name, message.kind, json.dumps(list(message.changes)), iso(now)),
                )
            db.execute(
                "UPDATE notify_routes SET cursor = ?, last_digest_at = ? WHERE name = ?",
                (
                    plan.cursor,
                    iso(plan.last_digest_at) if plan.last_digest_at else None,
                    route.name,
                ),
            )
        return plan

    def held(self, route: Route) -> list[Candidate]:
        """Wanted events after the route's cursor: not yet in any message."""
        with self._database.reading() as db:
            row = db.execute(
                "SELECT cursor FROM notify_routes WHERE name = ?", (route.name,)
            ).fetchone()
            if row is None:
                return []
            return [c for c in self._inbox(db, route, row["cursor"]) if c.wanted]

    # -- deliveries -----------------------------------------------------------------

    def due(self, route: str, target: str, now: datetime) -> list[Due]:
        """Messages of a route that this destination still needs and may be tried now."""
        rows = self._rows(
            "SELECT m.id, m.kind, m.changes, d.attempts, d.next_attempt_at, d.lease_until, "
            "d.lease_owner, d.delivered_at FROM notify_messages m "
            "LEFT JOIN notify_deliveries d ON d.message = m.id AND d.target = ? "
            "WHERE m.route = ? AND m.done_at IS NULL ORDER BY m.id",
            (target, route),
        )
        stamp = iso(now)
        found = []
        for row in rows:
            if row["delivered_at"] is not None:
                continue
            if row["next_attempt_at"] is not None and row["next_attempt_at"] > stamp:
                continue
            leased = row["lease_until"] is not None and row["lease_until"] > stamp
            if leased and not owner_dead(row["lease_owner"]):
                continue
            found.append(
                Due(row["id"], row["kind"], tuple(json.loads(row["changes"])), row["attempts"] or 0)
            )
        return found

    def claim(self, target: str, messages: Sequence[int], now: datetime) -> list[int]:
        """Lease these deliveries to this process; returns the ones it got."""
        stamp, until = iso(now), iso(now + timedelta(seconds=LEASE_SECONDS))
        claimed = []
        with self.transaction() as db:
            for message in messages:
                db.execute(
                    "INSERT INTO notify_deliveries (message, target, next_attempt_at) "
                    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (message, target, stamp),
                )
                row = db.execute(
                    "SELECT lease_until, lease_owner, delivered_at FROM notify_deliveries "
                    "WHERE message = ? AND target = ?",
                    (message, target),
                ).fetchone()
                if row["delivered_at"] is not None:
                    continue
                held = row["lease_until"] is not None and row["lease_until"] > stamp
                if held and row["lease_owner"] != self.owner and not owner_dead(row["lease_owner"]):
                    continue
                db.execute(
                    "UPDATE notify_deliveries SET lease_until = ?, lease_owner = ? "
                    "WHERE message = ? AND target = ?",
                    (until, self.owner, message, target),
                )
                claimed.append(message)
        return claimed

    def delivered(self, target: str, messages: Sequence[int], now: datetime) -> None:
        together = json.dumps(list(messages)) if len(messages) > 1 else None
        with self.transaction() as db:
            for message in messages:
                db.execute(
                    "UPDATE notify_deliveries SET delivered_at = ?, attempts = attempts + 1, "
                    "lease_until = NULL, lease_owner = NULL, last_error = NULL, "
                    "delivered_with = ? WHERE message = ? AND target = ?",
                    (iso(now), together, message, target),
                )

    def failed(self, target: str, messages: Sequence[int], error: str, next_at: datetime) -> None:
        with self.transaction() as db:
            for message in messages:
                db.execute(
                    "UPDATE notify_deliveries SET attempts = attempts + 1, last_error = ?, "
                    "next_attempt_at = ?, lease_until = NULL, lease_owner = NULL "
                    "WHERE message = ? AND target = ? AND delivered_at IS NULL",
                    (error, iso(next_at), message, target),
                )

    def postpone(self, target: str, messages: Sequence[int], next_at: datetime) -> None:
        """Deliveries not tried because their destination just failed: same retry time."""
        with self.transaction() as db:
            for message in messages:
                db.execute(
                    "UPDATE notify_deliveries SET next_attempt_at = ?, lease_until = NULL, "
                    "lease_owner = NULL WHERE message = ? AND target = ? AND delivered_at IS NULL",
                    (iso(next_at), message, target),
                )

    def next_attempt(self, routes: Sequence[str]) -> datetime | None:
        """When the earliest failed delivery of these routes is to be tried again."""
        if not routes:
            return None
        marks = ",".join("?" * len(routes))
        rows = self._rows(
            "SELECT MIN(d.next_attempt_at) AS at FROM notify_deliveries d JOIN notify_messages m "
            f"ON m.id = d.message WHERE m.done_at IS NULL AND d.delivered_at IS NULL "
            f"AND m.route IN ({marks})",
            routes,
        )
        return parse_time(rows[0]["at"]) if rows and rows[0]["at"] else None

    def retry_now(self, now: datetime) -> int:
        """Make every failed delivery due now (after fixing a destination)."""
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE notify_deliveries SET next_attempt_at = ? WHERE delivered_at IS NULL "
                "AND next_attempt_at > ?",
                (iso(now), iso(now)),
            )
            return cursor.rowcount

    def complete(self, route: str, targets: Sequence[str], now: datetime) -> int:
        """Mark done the route's messages that every current destination has."""
        if not targets:
            return 0
        marks = ",".join("?" * len(targets))
        with self.transaction() as db:
            cursor = db.execute(
                f"UPDATE notify_messages SET done_at = ? WHERE route = ? AND done_at IS NULL "
                f"AND (SELECT COUNT(*) FROM notify_deliveries d WHERE d.message = "
                f"notify_messages.id AND d.delivered_at IS NOT NULL AND d.target IN ({marks})"
                f") = ?",
                (iso(now), route, *targets, len(targets)),
            )
            return cursor.rowcount

    # -- reading --------------------------------------------------------------------

    def events(self, change_ids: Sequence[int]) -> list[Event]:
        """Change events as messages show them, in id order."""
        found: list[Event] = []
        ids = list(dict.fromkeys(change_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._rows(
                "SELECT c.*, w.url AS url, w.config AS config, f.body_sha256 AS from_snapshot, "
                "f.fetched_at AS previous_at, t.body_sha256 AS to_snapshot FROM changes c "
                "JOIN watches w ON w.name = c.watch LEFT JOIN captures f ON f.id = c.from_capture "
                f"JOIN captures t ON t.id = c.to_capture WHERE c.id IN ({marks}) ORDER BY c.id",
                chunk,
            )
            found += [event_from_row(dict(row)) for row in rows]
        return found

    def pending(self) -> list[Delivery]:
        """Every message not done, with each of its destination rows not delivered."""
        rows = self._rows(
            "SELECT m.id, m.route, m.kind, m.changes, m.created_at, d.target, d.attempts, "
            "d.next_attempt_at, d.last_error FROM notify_messages m "
            "LEFT JOIN notify_deliveries d ON d.message = m.id AND d.delivered_at IS NULL "
            "WHERE m.done_at IS NULL ORDER BY m.id"
        )
        return [
            Delivery(
                route=row["route"],
                message=row["id"],
                kind=row["kind"],
                changes=tuple(json.loads(row["changes"])),
                target=row["target"],
                attempts=row["attempts"] or 0,
                next_attempt_at=row["next_attempt_at"],
                last_error=row["last_error"],
                created_at=row["created_at"],
            )
            for row in rows
        ]

    def delivered_targets(self, message: int) -> set[str]:
        rows = self._rows(
            "SELECT target FROM notify_deliveries WHERE message = ? AND delivered_at IS NOT NULL",
            (message,),
        )
        return {row["target"] for row in rows}

    def counts(self) -> dict[str, dict[str, Any]]:
        """Per route: messages, delivered, last delivery time."""
        rows = self._rows(
            "SELECT m.route, COUNT(DISTINCT m.id) AS messages, "
            "COUNT(DISTINCT CASE WHEN m.done_at IS NULL THEN m.id END) AS open, "
            "MAX(d.delivered_at) AS last_delivered_at, "
            "COUNT(d.delivered_at) AS deliveries FROM notify_messages m "
            "LEFT JOIN notify_deliveries d ON d.message = m.id GROUP BY m.route"
        )
        return {row["route"]: dict(row) for row in rows}
