"""The watchlist keys for whole sites and language versions: ``sites:``,
``counterparts:`` and ``term_groups:``, as loaded (their schema is in schema.py, their
field checks in fields.py), and the checks that need the whole file (names unique across
watches and sites, counterparts naming what exists, a term in one group only).

>>> from monitor.config.watchlist import loads_watchlist
>>> wl = loads_watchlist('''
... term_groups:
...   uyghur: [维族, 维吾尔, Uyghur, Uighur, Uygur]
... sites:
...   - name: face-docs
...     sitemap: https://docs.example.com/sitemap.xml
...     include: ["https://docs.example.com/zh/*"]
...     max_pages: 500
...     every: 1d
...     select: main
... watches:
...   - {name: face-zh, url: "https://docs.example.com/zh/face.html", tags: [zh]}
...   - {name: face-en, url: "https://docs.example.com/en/face.html", tags: [en]}
... counterparts:
...   - [face-zh, face-en]
... ''')
>>> site = wl.sites[0]
>>> site.sitemaps, site.include, site.max_pages, site.template.select
(('https://docs.example.com/sitemap.xml',), ('https://docs.example.com/zh/*',), 500, 'main')
>>> wl.counterparts[0].name, wl.counterparts[0].versions
('face-zh', (('zh', 'face-zh'), ('en', 'face-en')))
>>> wl.watches[0].terms[-2:], dict(wl.term_groups)["uyghur"][0]
(('Uighur', 'Uygur'), '维族')
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from . import defaults

if TYPE_CHECKING:
    from .schema import _CounterpartEntry, _SiteEntry
    from .source import Loc, _Located
    from .watchlist import Watch

_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:[-_][a-z0-9]{2,8})*", re.IGNORECASE)

# ---------------------------------------------------------------------------
# Loaded forms


@dataclass(frozen=True, slots=True)
class Site:
    """A documentation site whose pages are discovered and watched.

    ``template`` is a watch carrying the rules every page gets (defaults merged in);
    a page's watch is the template with the page's name and URL.
    """

    name: str
    sitemaps: tuple[str, ...] | None  # None: the sitemaps robots.txt lists
    start: tuple[str, ...]
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    max_pages: int
    discover_every_seconds: float
    template: Watch

    @property
    def sources(self) -> tuple[str, ...]:
        return (*(self.sitemaps or ()), *self.start)

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(urlsplit(u).netloc.lower() for u in self.sources))

    def page_watch(self, name: str, url: str) -> Watch:
        """The watch of one page of this site."""
        return dataclasses.replace(self.template, name=name, url=url)


@dataclass(frozen=True, slots=True)
class Counterparts:
    """One document in several languages.

    ``versions``: (locale, watch name) pairs, for watches. ``sites`` with ``url_map``:
    (locale, site name) pairs whose pages are paired by replacing ``url_map[0]`` in
    the first site's URLs with ``url_map[1]``.
    """

    name: str
    versions: tuple[tuple[str, str], ...] = ()
    sites: tuple[tuple[str, str], ...] = ()
    url_map: tuple[str, str] | None = None

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(name for _, name in (self.versions or self.sites))


def locale_of(watch: Watch) -> str:
    """A watch's locale label: its first tag that reads as a language, else its name.

    >>> from monitor.config.watchlist import Watch
    >>> locale_of(Watch("a", "https://x", tags=("alibaba", "zh-CN"))), locale_of(Watch("b", "https://x"))
    ('zh-CN', 'b')
    """
    for tag in watch.tags:
        primary = tag.replace("_", "-").split("-")[0].lower()
        if _LANGUAGE_TAG.fullmatch(tag) and primary in _LANGUAGES:
            return tag
    return watch.name


# ISO 639-1 codes of languages vendors publish documentation in (a tag like "aws" or
# "api" must not be taken for a language).
_LANGUAGE_CODES = (
    "ar bg bn cs da de el en es et fa fi fr he hi hr hu id it ja kk ko lt lv ms nb nl no "
    "pl pt ro ru sk sl sr sv th tr ug uk ur uz vi zh"
)
_LANGUAGES = frozenset(_LANGUAGE_CODES.split(" "))


def build_sites(
    entries: Sequence[_SiteEntry], merge: Callable[[_SiteEntry, str], Watch]
) -> tuple[Site, ...]:
    """Sites from their entries; ``merge(entry, url)`` gives the rules' template watch."""
    sites = []
    for entry in entries:
        first = (entry.sitemap or entry.start)[0]
        template = merge(entry, first)
        every = entry.discover_every
        sites.append(
            Site(
                name=entry.name,
                sitemaps=tuple(entry.sitemap) if entry.sitemap is not None else None,
                start=tuple(entry.start),
                include=tuple(entry.include),
                exclude=tuple(entry.exclude),
                max_pages=entry.max_pages,
                discover_every_seconds=float(every or defaults.SITE_DISCOVER_EVERY),
                template=dataclasses.replace(template, tags=(*template.tags, entry.name)),
            )
        )
    return tuple(sites)


def build_counterparts(
    entries: Sequence[_CounterpartEntry], watches: dict[str, Watch]
) -> tuple[Counterparts, ...]:
    sets = []
    for entry in entries:
        if entry.watches is not None:
            pairs = (
                tuple(entry.watches.items())
                if isinstance(entry.watches, dict)
                else tuple((locale_of(watches[n]), n) for n in entry.watches)
            )
            sets.append(Counterparts(entry.name or pairs[0][1], versions=pairs))
        else:
            assert entry.sites is not None and entry.map is not None
            sites = (
                tuple(entry.sites.items())
                if isinstance(entry.sites, dict)
                else tuple((n, n) for n in entry.sites)
            )
            ((source, target),) = entry.map.items()
            sets.append(
                Counterparts(entry.name or sites[0][1], sites=sites, url_map=(source, target))
            )
    return tuple(sets)


def check_references(
    sites: Sequence[_SiteEntry],
    counterparts: Sequence[_CounterpartEntry],
    term_groups: dict[str, list[str]],
    watch_names: Sequence[str],
    located: _Located,
) -> None:
    """Names unique across watches and sites; counterparts name what exists; a term in
    one group only. Raises WatchlistError naming the file, line, entry and field."""
    taken = set(watch_names)
    for index, site in enumerate(sites):
        if site.name in taken:
            raise located.error(
                ("sites", index, "name"),
                f"name {site.name!r} is already used by a watch or another site; "
                "sites and watches share one namespace",
            )
        taken.add(site.name)
    site_names = {s.name for s in sites}
    names = set()
    for index, entry in enumerate(counterparts):
        _check_members(index, entry, set(watch_names), site_names, located)
        label = _counterpart_name(entry)
        if label in names:
            raise located.error(
                ("counterparts", index, "name"),
                f"two counterpart sets are named {label!r}; give one of them a name",
            )
        names.add(label)
    _check_groups(term_groups, located)


def _counterpart_name(entry: _CounterpartEntry) -> str:
    if entry.name:
        return entry.name
    members = entry.watches if entry.watches is not None else entry.sites
    first = next(iter(members.values() if isinstance(members, dict) else members or []))
    return str(first)


def _check_members(
    index: int,
    entry: _CounterpartEntry,
    watches: set[str],
    sites: set[str],
    located: _Located,
) -> None:
    key, known, what = (
        ("watches", watches, "watch") if entry.watches is not None else ("sites", sites, "site")
    )
    members = entry.watches if entry.watches is not None else entry.sites
    items = list(members.items()) if isinstance(members, dict) else list(enumerate(members or []))
    seen: set[str] = set()
    for slot, name in items:
        loc: Loc = ("counterparts", index, key, slot)
        if name not in known:
            raise located.error(
                loc,
                f"no {what} named {name!r}; counterparts name {what}s of this watchlist "
                f"(known: {', '.join(sorted(known)) or 'none'})",
            )
        if name in seen:
            raise located.error(loc, f"{what} {name!r} is listed twice")
        seen.add(name)


def _check_groups(term_groups: dict[str, list[str]], located: _Located) -> None:
    from ..documents.textnorm import fold

    owner: dict[str, tuple[str, str]] = {}
    for group, terms in term_groups.items():
        for position, term in enumerate(terms):
            key = fold(term)
            if key in owner and owner[key][0] != group:
                first_group, first_term = owner[key]
                raise located.error(
                    ("term_groups", group, position),
                    f"term {term!r} is already in group {first_group!r} (as {first_term!r}); "
                    "a term belongs to one group",
                )
            owner.setdefault(key, (group, term))
