"""Validating a watchlist and merging its defaults into its watches (pydantic).

Only a watchlist that is not in the start-up cache (cache.py) comes here: the public
data (watchlist.py, routes.py, sites.py, settings.py) imports neither pydantic nor
PyYAML, so a check of a cached watchlist loads neither.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterator, Sequence
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import WatchlistError
from . import defaults as default_values
from .routes import route_from_entry
from .schema import _File, _Rules
from .settings import Settings
from .sites import build_counterparts, build_sites, check_references
from .source import Loc, _first_error, _line_of, _Located, _parse_yaml
from .watchlist import DEFAULT_EVERY_SECONDS, BrowserOptions, Watch, Watchlist


def build_watchlist(text: str, path: str) -> Watchlist:
    """Validate watchlist text and merge the defaults into its watches."""
    root, data = _parse_yaml(text, path)
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        raise WatchlistError(
            path,
            "the top level must be a mapping with a 'watches' list "
            "(and optional 'defaults' and 'settings')",
            line=root.start_mark.line + 1,
        )
    try:
        parsed = _File.model_validate(data)
    except ValidationError as error:
        raise _first_error(error, root, data, path) from None
    located = _Located(root, data, path)
    if "watches" not in parsed.model_fields_set and not parsed.sites:
        raise located.error(
            ("watches",),
            "missing required key 'watches'; add a 'watches:' list with at least one watch "
            "(or a 'sites:' list)",
        )
    _check_every_and_cron(parsed, located)
    _check_unique_names(parsed, located)
    entries = parsed.watches
    check_references(
        parsed.sites, parsed.counterparts, parsed.term_groups, [e.name for e in entries], located
    )
    groups = tuple((name, tuple(terms)) for name, terms in parsed.term_groups.items())
    group_terms = tuple(t for _, terms in groups for t in terms)

    def merge(entry: _Rules, name: str, url: str, exclude: Sequence[str]) -> Watch:
        watch = _merge(parsed.defaults, entry, name, url, exclude)
        terms = _union(watch.terms, group_terms)
        return dataclasses.replace(watch, terms=terms, term_groups=groups)

    watches = tuple(merge(e, e.name, e.url, e.exclude) for e in entries)
    sites = build_sites(parsed.sites, lambda e, url: merge(e, e.name, url, e.exclude_css))
    counterparts = build_counterparts(parsed.counterparts, {w.name: w for w in watches})
    _check_routes(parsed, watches, located)
    settings = Settings(**parsed.settings.model_dump())
    settings.contact  # noqa: B018 - refuses a MONITOR_CONTACT no User-Agent can carry
    return Watchlist(
        path=path,
        watches=watches,
        settings=settings,
        routes=tuple(route_from_entry(entry) for entry in parsed.notify),
        sites=sites,
        counterparts=counterparts,
        term_groups=groups,
    )


def _rule_sections(parsed: _File) -> Iterator[tuple[Loc, _Rules]]:
    yield ("defaults",), parsed.defaults
    for index, entry in enumerate(parsed.watches):
        yield ("watches", index), entry
    for index, site in enumerate(parsed.sites):
        yield ("sites", index), site


def _check_every_and_cron(parsed: _File, located: _Located) -> None:
    for loc, rules in _rule_sections(parsed):
        if rules.every is not None and rules.cron is not None:
            every_line = _line_of(located.root, (*loc, "every"))
            cron_line = _line_of(located.root, (*loc, "cron"))
            later = "cron" if cron_line >= every_line else "every"
            raise located.error(
                (*loc, later), "both every and cron are set; use either every or cron, not both"
            )


def _check_unique_names(parsed: _File, located: _Located) -> None:
    first: dict[str, int] = {}
    for index, entry in enumerate(parsed.watches):
        line = _line_of(located.root, ("watches", index, "name"))
        if entry.name in first:
            raise located.error(
                ("watches", index, "name"),
                f"duplicate name {entry.name!r} (first used on line {first[entry.name]}); "
                "every watch needs its own name",
            )
        first[entry.name] = line


def _check_routes(parsed: _File, watches: Sequence[Watch], located: _Located) -> None:
    """What one route cannot know alone: a destination, a unique name, filters that match.

    A filter that matches no watch is a typo that would silence the route for ever.
    """
    first: dict[str, int] = {}
    known = {
        "watches": [w.name for w in watches],
        "tags": list(dict.fromkeys(t for w in watches for t in w.tags)),
        "vendors": list(dict.fromkeys(w.vendor for w in watches if w.vendor)),
    }
    for index, route in enumerate(parsed.notify):
        loc: Loc = ("notify", index)
        if route.name in first:
            raise located.error(
                (*loc, "name"),
                f"duplicate route name {route.name!r} (first used on line {first[route.name]}); "
                "every route needs its own name",
            )
        first[route.name] = _line_of(located.root, (*loc, "name"))
        if not route.urls and not route.urls_env:
            raise located.error(
                loc,
                "no destination: add urls (apprise URLs) or urls_env (an environment variable "
                "holding them, which keeps passwords and tokens out of this file)",
            )
        filters = (("watches", route.watches), ("tags", route.tags), ("vendors", route.vendors))
        for key, values in filters:
            unknown = [v for v in values if v not in known[key]]
            if unknown:
                close = difflib.get_close_matches(unknown[0], known[key], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise located.error(
                    (*loc, key),
                    f"no watch has {key[:-1]} {unknown[0]!r}{hint}; this route would never "
                    f"hear of it. Known {key}: {', '.join(known[key]) or '(none)'}",
                )


# ---------------------------------------------------------------------------
# Merging defaults into a watch


def _merge(defaults: _Rules, entry: _Rules, name: str, url: str, exclude: Sequence[str]) -> Watch:
    """A watch (or a site's page template) with the defaults merged in."""
    every, cron = _schedule(defaults, entry)
    return Watch(
        name=name,
        url=url,
        vendor=_scalar(defaults, entry, "vendor"),
        tags=_union(defaults.tags, entry.tags),
        select=_scalar(defaults, entry, "select"),
        exclude=_union(defaults.exclude, exclude),
        ignore=_union(defaults.ignore, entry.ignore),
        terms=_union(defaults.terms, entry.terms),
        every_seconds=every,
        cron=cron,
        headers=_merge_headers(defaults.headers, entry.headers),
        notes=_scalar(defaults, entry, "notes"),
        moves=_scalar(defaults, entry, "moves") or default_values.MOVES,
        fetch=_scalar(defaults, entry, "fetch") or "http",
        browser=_browser(entry.browser or defaults.browser),
        headers_env=_merge_headers(defaults.headers_env, entry.headers_env),
        auth_env=_auth_env(_scalar(defaults, entry, "auth_env")),
    )


def _auth_env(entry: Any) -> tuple[str, str] | None:
    return None if entry is None else (entry.username, entry.password)


def _browser(entry: Any) -> BrowserOptions:
    if entry is None:
        return BrowserOptions()
    return BrowserOptions(
        wait_until=entry.wait_until,
        wait_for=entry.wait_for,
        delay=entry.delay or 0.0,
        timeout=entry.timeout or default_values.BROWSER_TIMEOUT,
        screenshot=entry.screenshot,
    )


def _schedule(defaults: _Rules, entry: _Rules) -> tuple[float | None, str | None]:
    # A watch's own every or cron wins over either from the defaults.
    for rules in (entry, defaults):
        if rules.cron is not None:
            return None, rules.cron
        if rules.every is not None:
            return float(rules.every), None
    return DEFAULT_EVERY_SECONDS, None


def _scalar(defaults: _Rules, entry: _Rules, key: str) -> Any:
    # A key the watch sets, even to null, replaces the default.
    return getattr(entry if key in entry.model_fields_set else defaults, key)


def _union(first: Sequence[str], second: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*first, *second]))


def _merge_headers(defaults: dict[str, str], own: dict[str, str]) -> tuple[tuple[str, str], ...]:
    merged = {name.lower(): (name, value) for name, value in defaults.items()}
    for name, value in own.items():
        merged[name.lower()] = (name, value)  # header names are case-insensitive
    return tuple(merged.values())
