"""``monitor watchlist validate|test``: check a watchlist, tune a watch."""

from __future__ import annotations

import sys

import click

from ..config.watchlist import load_watchlist
from .common import echo_json, format_option


@click.group("watchlist")
def watchlist_group() -> None:
    """Validate a watchlist, or tune a watch.

    \b
    Examples:
      monitor watchlist validate watchlists/face-and-moderation.yaml
      monitor watchlist test watchlists/face-and-moderation.yaml NAME
    """


@watchlist_group.command("validate")
@click.argument("path", type=click.Path(dir_okay=False))
@format_option()
def watchlist_validate(path: str, output_format: str) -> None:
    """Check a watchlist file without fetching anything.

    \b
    Examples:
      monitor watchlist validate watchlists/face-and-moderation.yaml
      monitor watchlist validate my.yaml --format json
    """
    watchlist = load_watchlist(path)
    if output_format == "json":
        echo_json(
            {
                "path": path,
                "valid": True,
                "watches": [
                    {
                        "name": w.name,
                        "url": w.url,
                        "schedule": w.schedule,
                        "vendor": w.vendor,
                        "tags": list(w.tags),
                        "terms": list(w.terms),
                    }
                    for w in watchlist.watches
                ],
            }
        )
        return
    for watch in watchlist.watches:
        click.echo(f"{watch.name:<40} {watch.schedule:<22} {watch.url}")
    for route in watchlist.routes:
        click.echo(f"route {route.name:<34} {route.describe()}")
    click.echo(f"{path}: {len(watchlist.watches)} watch(es), valid")


@watchlist_group.command("test")
@click.argument("path", type=click.Path(dir_okay=False))
@click.argument("name")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds between the two fetches.",
)
def watchlist_test(path: str, name: str, wait: float) -> None:
    """Fetch a watch twice; show its noise, suggested ignore rules and what select keeps.

    Exit status 2 when the page cannot be watched as configured: unreachable, gone,
    blocked, or almost no text (a JavaScript-only page probably needs `fetch: browser`).

    \b
    Example:
      monitor watchlist test watchlists/face-and-moderation.yaml aliyun-cloud-shield-face-api
    """
    import asyncio

    from ..fetch.http import FetchPolicy
    from ..tune import show_tuning

    watchlist = load_watchlist(path)
    (watch,) = watchlist.select([name])
    policy = FetchPolicy.from_settings(watchlist.settings, host_delay=0.0)
    tuning = asyncio.run(show_tuning(watch, policy, wait))
    for line in tuning.lines:
        click.echo(line)
    if tuning.problem:
        sys.exit(2)  # unreachable, gone, blocked or almost no text: not ready to watch
