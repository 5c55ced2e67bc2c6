"""``monitor sites`` and ``monitor locales``: discovered sites, and what language
versions of a document say and omit."""

from __future__ import annotations

from typing import Any

import click

from ..errors import ConfigError
from .common import Context, echo_json, format_option, say


@click.command()
@click.argument("name", required=False)
@click.option(
    "--watchlist",
    "watchlist_path",
    type=click.Path(dir_okay=False),
    help="Also list the watchlist's sites that were never discovered.",
)
@format_option()
@click.pass_obj
def sites(obj: Context, name: str | None, watchlist_path: str | None, output_format: str) -> None:
    """Documentation sites: page counts and the last discovery run.

    With NAME, one site and its pages.

    \b
    Examples:
      monitor sites
      monitor sites aliyun-content-moderation-docs --format json
    """
    from ..config.watchlist import load_watchlist
    from ..sites.listing import list_sites

    declared = load_watchlist(watchlist_path).sites if watchlist_path else ()
    with obj.store() as store:
        found = list_sites(store, declared, name)
    if output_format == "json":
        echo_json(found if name is None else found[0])
        return
    if not found:
        say("no sites (add a 'sites:' entry to a watchlist and run monitor check)")
    for site in found:
        say(_site_text(site))


def _site_text(site: dict[str, Any]) -> str:
    from .checking import discovery_line

    statuses = ", ".join(f"{k} {v}" for k, v in sorted(site["statuses"].items()))
    lines = [f"{site['site']:<40} {site['pages']:>6} page(s)  {statuses or 'never discovered'}"]
    last = site["last_discovery"]
    if last is not None:
        lines.append(f"  last run #{last['run']} at {last['at']}: " + discovery_line(last))
    for page in site.get("page_list", []):
        lines.append(f"  {page['status']:<12} {page['watch']:<48} {page['url']}")
    return "\n".join(lines)


@click.command()
@click.argument("name")
@click.option(
    "--watchlist",
    "watchlist_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The watchlist that declares the counterparts and term groups.",
)
@format_option()
@click.pass_obj
def locales(obj: Context, name: str, watchlist_path: str, output_format: str) -> None:
    """What the language versions of a document mention and omit.

    For each version: the term groups it mentions now and since when. For the set:
    the gaps (a group some versions mention and others do not) and the sections and
    table rows one version has and another lacks, matched by identifiers that need no
    translation (parameter names, API action names, code identifiers).

    \b
    Examples:
      monitor locales aliyun-cloud-shield-face-api --watchlist my.yaml
      monitor locales docs-zh-en --watchlist my.yaml --format json
    """
    from ..config.watchlist import load_watchlist
    from ..sites.counterparts import describe

    watchlist = load_watchlist(watchlist_path)
    chosen = next((c for c in watchlist.counterparts if c.name == name), None)
    if chosen is None:
        known = ", ".join(c.name for c in watchlist.counterparts) or "none"
        raise ConfigError(
            f"no counterparts named {name!r} in {watchlist_path} (known: {known}); "
            "declare them under 'counterparts:'"
        )
    with obj.store() as store:
        found = describe(store, watchlist, chosen)
    if output_format == "json":
        echo_json(found)
    else:
        from ..report.locales import locales_text

        say(locales_text(found))
