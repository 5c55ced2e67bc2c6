"""``monitor notify status|test|send``: see, try and flush the alert routes."""

from __future__ import annotations

import sys

import click

from ..config.watchlist import Watchlist, load_watchlist
from ..errors import ConfigError
from .common import Context, echo_json, say

format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)


def _routes(path: str) -> Watchlist:
    watchlist = load_watchlist(path)
    if not watchlist.routes:
        raise ConfigError(
            f"{path} has no notify: routes; add one (README, Alerts), for example\n"
            "notify:\n  - name: team\n    urls_env: MONITOR_NOTIFY_TEAM"
        )
    return watchlist


@click.group("notify")
def notify_group() -> None:
    """Alert routes: pending/failed deliveries, test, send."""


@notify_group.command("status")
@click.option(
    "--watchlist",
    "watchlist_path",
    type=click.Path(dir_okay=False),
    help="Also show this watchlist's routes as configured now (destinations, problems).",
)
@format_option
@click.pass_obj
def notify_status(obj: Context, watchlist_path: str | None, output_format: str) -> None:
    """Pending and failed deliveries, held events, and each route's last delivery.

    \b
    Examples:
      monitor notify status
      monitor notify status --watchlist watchlists/face-and-moderation.yaml --format json
    """
    from ..model import utc_now
    from ..notify import open_outbox
    from ..notify.status import notify_status as build
    from ..notify.status import status_text

    routes = load_watchlist(watchlist_path).routes if watchlist_path else None
    with obj.store() as store:
        location = store.location
    with open_outbox(obj.spec if obj.spec.postgres else location) as outbox:
        status = build(outbox, routes, utc_now())
    if output_format == "json":
        echo_json(status)
    else:
        say(status_text(status))


@notify_group.command("test")
@click.option(
    "--watchlist",
    "watchlist_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The watchlist whose routes to try.",
)
@click.argument("route_name", required=False)
@format_option
@click.pass_obj
def notify_test(
    obj: Context, watchlist_path: str, route_name: str | None, output_format: str
) -> None:
    """Send a sample alert through every destination of ROUTE (default: every route).

    Exit status 0 when every destination accepted it, 1 otherwise. Nothing is
    written to the outbox.

    \b
    Examples:
      monitor notify test --watchlist watchlists/face-and-moderation.yaml
      monitor notify test --watchlist my.yaml team --format json
    """
    from pathlib import Path

    from ..notify import resolve, try_routes

    watchlist = _routes(watchlist_path)
    names = [r.name for r in watchlist.routes]
    if route_name is not None and route_name not in names:
        raise ConfigError(f"no route named {route_name!r}; routes: {', '.join(names)}")
    routes = [r for r in watchlist.routes if route_name in (None, r.name)]
    # Nothing is read from or written to the store; it only appears in the text.
    if obj.spec.postgres:
        from ..store.postgres import redact

        where = redact(obj.spec.location)
    else:
        where = str(Path(obj.spec.location).resolve())
    results = try_routes(routes, where)
    problems = {r.name: resolve(r).problems for r in routes}
    if output_format == "json":
        rows = [r.__dict__ for r in results]
        echo_json(rows)
    else:
        for name, found in problems.items():
            for problem in found:
                say(f"{name}: PROBLEM {problem}")
        for result in results:
            verdict = "ok" if result.ok else f"FAILED: {result.error}"
            say(f"{result.route:<16} {result.target}  {verdict}")
        say(f"{sum(r.ok for r in results)} of {len(results)} destination(s) accepted")
    if not results or not all(r.ok for r in results):
        sys.exit(1)


@notify_group.command("send")
@click.option(
    "--watchlist",
    "watchlist_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The watchlist whose routes to send for.",
)
@click.option(
    "--retry-now",
    is_flag=True,
    help="Retry failed deliveries now instead of at their next scheduled try.",
)
@click.pass_obj
def notify_send(obj: Context, watchlist_path: str, retry_now: bool) -> None:
    """Queue and deliver what is due now, as the end of `monitor check` does.

    \b
    Examples:
      monitor notify send --watchlist watchlists/face-and-moderation.yaml
      monitor notify send --watchlist my.yaml --retry-now   # after fixing a destination
    """
    from ..model import utc_now
    from ..run.alerts import notifier_for

    watchlist = _routes(watchlist_path)
    with notifier_for(obj.spec, watchlist, create=False) as notifier:
        if retry_now:
            notifier.outbox.retry_now(utc_now())
        report = notifier.run_once(batch_complete=True)
    for line in report.lines:
        say(line)
    say(report.summary())
    if report.failed:
        say("see: monitor notify status")
