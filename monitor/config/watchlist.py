"""Watchlists: which pages to watch, how often, and what to look for (YAML, validated).

A watchlist names pages (``watches``), shared settings for them (``defaults``) and
optional crawl ``settings``. Every mistake is reported as one :class:`WatchlistError`
naming the file, the line, the watch and the field, with what to do about it: a
watchlist is edited by hand, and a silently ignored typo would mean a page that is
never watched.

>>> wl = loads_watchlist('''
... defaults:
...   every: 6h
...   terms: [维族, Uyghur]
... watches:
...   - name: aliyun-face
...     url: https://help.aliyun.com/document_detail/70429.html
...     terms: [是否是维族, Uyghur]
... ''')
>>> w = wl.watches[0]
>>> w.terms, w.every_seconds, w.cron
(('维族', 'Uyghur', '是否是维族'), 21600.0, None)

The pieces: ``source.py`` reads the file and locates errors, ``schema.py`` declares
the keys, ``fields.py`` checks values; this module merges defaults into watches.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import WatchlistError
from . import defaults as default_values
from .fields import format_interval
from .routes import Route, route_from_entry
from .schema import _File, _Rules
from .secrets import request_headers
from .settings import Settings
from .sites import Counterparts, Site, build_counterparts, build_sites, check_references
from .source import Loc, _first_error, _line_of, _Located, _parse_yaml, _read_text

DEFAULT_EVERY_SECONDS = default_values.EVERY_SECONDS

# ---------------------------------------------------------------------------
# Public data


@dataclass(frozen=True, slots=True)
class BrowserOptions:
    """How a page is rendered in the headless browser (watch key ``browser:``).

    ``wait_until``: the load state to wait for (``networkidle``: no request for 0.5 s);
    ``wait_for``: a CSS selector that must be on the page; ``delay``: seconds to wait
    after both; ``timeout``: seconds for all of it; ``screenshot``: keep a full-page PNG.
    """

    wait_until: str = "networkidle"
    wait_for: str | None = None
    delay: float = 0.0
    timeout: float = default_values.BROWSER_TIMEOUT
    screenshot: bool = False


@dataclass(frozen=True, slots=True)
class Watch:
    """One watched page, with the defaults already merged in.

    ``every_seconds`` is None when ``cron`` schedules the watch. ``headers`` are
    (name, value) pairs in file order.
    """

    name: str
    url: str
    vendor: str | None = None
    tags: tuple[str, ...] = ()
    select: str | None = None
    exclude: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    every_seconds: float | None = DEFAULT_EVERY_SECONDS
    cron: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    notes: str | None = None
    moves: str = default_values.MOVES  # does a moved block alone raise an event? (README)
    fetch: str = "http"  # http | browser (headless Chromium) | auto (browser if needed)
    browser: BrowserOptions = BrowserOptions()
    # The watchlist's term groups ((group, (term, ...)), ...): flags name the group.
    term_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Secrets by the names of environment variables, read at fetch time (config/secrets.py):
    # (header, VARIABLE) pairs, and the (USER_VARIABLE, PASSWORD_VARIABLE) of basic auth.
    headers_env: tuple[tuple[str, str], ...] = ()
    auth_env: tuple[str, str] | None = None

    def request_headers(self) -> tuple[tuple[str, str], ...]:
        """The headers to send, secrets read from the environment now (never stored)."""
        return request_headers(self.headers, self.headers_env, self.auth_env)

    @property
    def schedule(self) -> str:
        """The schedule in words, for listings.

        >>> Watch("a", "https://x", every_seconds=5400).schedule
        'every 1h30m'
        >>> Watch("a", "https://x", every_seconds=None, cron="0 */6 * * *").schedule
        "cron '0 */6 * * *'"
        """
        if self.cron is not None:
            return f"cron {self.cron!r}"
        return f"every {format_interval(self.every_seconds or DEFAULT_EVERY_SECONDS)}"


@dataclass(frozen=True, slots=True)
class Watchlist:
    """A loaded, valid watchlist."""

    path: str
    watches: tuple[Watch, ...]
    settings: Settings
    routes: tuple[Route, ...] = ()  # alert routes (notify:)
    sites: tuple[Site, ...] = ()
    counterparts: tuple[Counterparts, ...] = ()
    term_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def site(self, name: str) -> Site | None:
        return next((s for s in self.sites if s.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(w.name for w in self.watches)

    def select(self, names: Sequence[str]) -> tuple[Watch, ...]:
        """The watches with these names, in watchlist order; all of them when names is empty.

        >>> wl = loads_watchlist("watches: [{name: a, url: 'https://a'}, {name: b, url: 'https://b'}]")
        >>> [w.name for w in wl.select(["b"])], len(wl.select([]))
        (['b'], 2)
        """
        if not names:
            return self.watches
        unknown = [n for n in dict.fromkeys(names) if n not in self.names]
        if unknown:
            raise WatchlistError(self.path, _unknown_names_reason(unknown, self.names))
        wanted = set(names)
        return tuple(w for w in self.watches if w.name in wanted)


def _unknown_names_reason(unknown: list[str], known: Sequence[str]) -> str:
    what = "no watch named " + ", ".join(repr(n) for n in unknown)
    hints = [m for n in unknown for m in difflib.get_close_matches(n, known, n=1)]
    hint = f" (did you mean {', '.join(repr(h) for h in hints)}?)" if hints else ""
    return f"{what}{hint}; known watches: {', '.join(known) or '(none)'}"


# ---------------------------------------------------------------------------
# Intervals and patterns


# ---------------------------------------------------------------------------
# Loading


def load_watchlist(path: str | os.PathLike[str]) -> Watchlist:
    """Read and validate a watchlist file; raises WatchlistError on any problem."""
    name = os.fspath(path)
    return loads_watchlist(_read_text(name), name)


def loads_watchlist(text: str, path: str = "<string>") -> Watchlist:
    """Validate watchlist text; ``path`` is only used in error messages and the result."""
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
