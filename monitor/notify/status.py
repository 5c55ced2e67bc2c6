"""``monitor notify status``: what waits, what failed, and why (read-only).

Routes come from the outbox (every route ever registered in this data directory) and,
when a watchlist is given, from it too (its destinations are then read from the
environment as ``monitor run`` would read them, so a missing variable shows here).
Only masked URLs are ever shown.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..config.fields import format_interval
from ..config.routes import Route
from ..model import parse_time
from .event import when
from .outbox import Delivery, Outbox
from .plan import plan
from .targets import resolve

_HELD_WHY = {
    "wait": "waiting for more events to join them",
    "rate": "the route's rate limit is reached",
    "digest": "waiting for the digest",
}


def notify_status(outbox: Outbox, routes: Sequence[Route] | None, now: datetime) -> dict[str, Any]:
    """Every route's state and every delivery not done, as JSON-ready data."""
    stored = {row["name"]: row for row in outbox.route_rows()}
    configured = {r.name: r for r in routes or ()}
    counts = outbox.counts()
    deliveries = outbox.pending()
    report = []
    for name in sorted(set(stored) | set(configured)):
        row = stored.get(name)
        public = json.loads(row["config"]) if row else {}
        route = configured.get(name) or Route.from_public(public)
        if name in configured:
            resolved = resolve(route)
            targets = [t.key for t in resolved.targets]
            problems = list(resolved.problems)
        else:
            targets, problems = public.get("targets", []), public.get("problems", [])
        report.append(
            {
                "name": name,
                "in_watchlist": (name in configured) if routes is not None else None,
                "targets": targets,
                "problems": problems,
                "kinds": list(route.kinds),
                "flagged_only": route.flagged_only,
                "digest": format_interval(route.digest_seconds) if route.digest_seconds else None,
                "started_at": _contract(row["created_at"]) if row else None,
                "cursor": row["cursor"] if row else None,
                **_held(outbox, route, now, bool(row)),
                **_outbox_counts(counts.get(name), deliveries, name),
            }
        )
    return {
        "routes": report,
        "deliveries": [_delivery_json(d) for d in deliveries],
    }


def _held(outbox: Outbox, route: Route, now: datetime, registered: bool) -> dict[str, Any]:
    if not registered:
        return {"held": 0, "held_because": None, "due_at": None}
    waiting = outbox.held(route)
    state = outbox.state(route, now)
    if not waiting or state is None:
        return {"held": 0, "held_because": None, "due_at": None}
    # The lasting reason first (rate limit, digest period); else `monitor run`'s wait.
    decided = plan(route, state, waiting, now, batch_complete=True)
    if decided.held_because is None:
        decided = plan(route, state, waiting, now)
    return {
        "held": len(waiting),
        "held_because": decided.held_because or "due",
        "due_at": when(decided.due_at) if decided.due_at else None,
    }


def _outbox_counts(
    counts: dict[str, Any] | None, deliveries: Sequence[Delivery], name: str
) -> dict[str, Any]:
    mine = [d for d in deliveries if d.route == name]
    failed = {d.message for d in mine if d.last_error}
    return {
        "messages": counts["messages"] if counts else 0,
        "pending": len({d.message for d in mine}),
        "failed": len(failed),
        "last_delivered_at": _contract(counts["last_delivered_at"])
        if counts and counts["last_delivered_at"]
        else None,
    }


def _contract(stored: str) -> str:
    return when(parse_time(stored))


def _delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "route": delivery.route,
        "message": delivery.message,
        "kind": delivery.kind,
        "changes": list(delivery.changes),
        "target": delivery.target,
        "state": "failed" if delivery.last_error else "pending",
        "attempts": delivery.attempts,
        "next_attempt_at": _contract(delivery.next_attempt_at)
        if delivery.next_attempt_at
        else None,
        "last_error": delivery.last_error,
        "created_at": _contract(delivery.created_at),
    }


def status_text(status: dict[str, Any]) -> str:
    """The status for a terminal."""
    if not status["routes"]:
        return "no alert routes: add a notify: list to the watchlist (README, Alerts)"
    lines: list[str] = []
    for route in status["routes"]:
        gone = " (no longer in the watchlist)" if route["in_watchlist"] is False else ""
        lines.append(f"route {route['name']}{gone}")
        for target in route["targets"]:
            lines.append(f"  to        {target}")
        for problem in route["problems"]:
            lines.append(f"  PROBLEM   {problem}")
        kinds = ", ".join(route["kinds"]) + (" (flagged only)" if route["flagged_only"] else "")
        timing = f"digest every {route['digest']}" if route["digest"] else "each event"
        lines.append(f"  events    {kinds}; {timing}; started {route['started_at'] or 'not yet'}")
        if route["held"]:
            why = _HELD_WHY.get(route["held_because"], "due at the next pass")
            due = f" (until {route['due_at']})" if route["due_at"] else ""
            lines.append(f"  held      {route['held']} event(s): {why}{due}")
        last = route["last_delivered_at"] or "never"
        lines.append(
            f"  outbox    {route['messages']} message(s), {route['pending']} not yet delivered "
            f"everywhere, {route['failed']} failing; last delivery {last}"
        )
    for delivery in status["deliveries"]:
        what = _what(delivery)
        if delivery["state"] == "failed":
            lines.append(
                f"FAILED  {delivery['route']}: {what} -> {delivery['target']}: "
                f"{delivery['last_error']} (attempt {delivery['attempts']}, next try "
                f"{delivery['next_attempt_at']})"
            )
        else:
            target = delivery["target"] or "its destinations"
            lines.append(f"pending {delivery['route']}: {what} -> {target}")
    return "\n".join(lines)


def _what(delivery: dict[str, Any]) -> str:
    changes = delivery["changes"]
    if delivery["kind"] == "event":
        return f"message {delivery['message']} (change #{changes[0]})"
    return f"message {delivery['message']} ({delivery['kind']} of {len(changes)} events)"
