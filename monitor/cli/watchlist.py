"""``monitor watchlist validate|test``: check a watchlist, tune a watch."""

from __future__ import annotations

import sys

import click

from ..config.watchlist import load_watchlist
from .common import echo_json, format_option, say


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
    from ..config.fields import format_interval

    watchlist = load_watchlist(path)
    if output_format == "json":
        found: dict[str, object] = {
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
        # Keys a watchlist with sites, counterparts or term groups adds (docs/cli.md).
        if watchlist.sites:
            found["sites"] = [
                {
                    "name": s.name,
                    "sitemaps": list(s.sitemaps) if s.sitemaps is not None else None,
                    "start": list(s.start),
                    "include": list(s.include),
                    "exclude": list(s.exclude),
                    "max_pages": s.max_pages,
                    "schedule": s.template.schedule,
                    "discover_every": format_interval(s.discover_every_seconds),
                }
                for s in watchlist.sites
            ]
        if watchlist.counterparts:
            found["counterparts"] = [
                {
                    "name": c.name,
                    "kind": "watches" if c.versions else "sites",
                    "members": dict(c.versions or c.sites),
                    "map": list(c.url_map) if c.url_map else None,
                }
                for c in watchlist.counterparts
            ]
        if watchlist.term_groups:
            found["term_groups"] = {g: list(terms) for g, terms in watchlist.term_groups}
        echo_json(found)
        return
    for watch in watchlist.watches:
        say(f"{watch.name:<40} {watch.schedule:<22} {watch.url}")
    for route in watchlist.routes:
        say(f"route {route.name:<34} {route.describe()}")
    for site in watchlist.sites:
        sources = site.sources or ("the sitemaps robots.txt lists",)
        every = format_interval(site.discover_every_seconds)
        say(
            f"site {site.name:<35} pages {site.template.schedule}, discovered every {every}, "
            f"at most {site.max_pages} page(s): {', '.join(sources)}"
        )
    for group in watchlist.counterparts:
        members = ", ".join(f"{locale}: {name}" for locale, name in group.versions or group.sites)
        mapping = f" ({group.url_map[0]} -> {group.url_map[1]})" if group.url_map else ""
        say(f"counterparts {group.name}: {members}{mapping}")
    extra = ""
    if watchlist.sites or watchlist.counterparts:
        extra = (
            f", {len(watchlist.sites)} site(s), {len(watchlist.counterparts)} counterpart set(s)"
        )
    say(f"{path}: {len(watchlist.watches)} watch(es){extra}, valid")


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
        say(line)
    if tuning.problem:
        sys.exit(2)  # unreachable, gone, blocked or almost no text: not ready to watch
