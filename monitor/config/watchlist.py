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

The pieces: ``reading.py`` reads the file's bytes, ``source.py`` parses the YAML and
locates errors, ``schema.py`` declares the keys, ``fields.py`` checks values and
``building.py`` merges the defaults into the watches; ``cache.py`` keeps the result for
the next load of the same bytes. This module holds the loaded form, which imports
neither PyYAML nor pydantic.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import WatchlistError
from . import defaults as default_values
from .cache import recall, remember
from .fields import format_interval
from .reading import decode_text, read_raw
from .routes import Route
from .secrets import request_headers
from .settings import Settings
from .sites import Counterparts, Site

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
# Loading


def load_watchlist(path: str | os.PathLike[str]) -> Watchlist:
    """Read and validate a watchlist file; raises WatchlistError on any problem.

    A file validated before, byte for byte, by this same code comes from the start-up
    cache (cache.py) without PyYAML or pydantic; everything that depends on the
    environment is still checked now.
    """
    name = os.fspath(path)
    raw = read_raw(name)
    known = recall(raw, name)
    if known is not None:
        known.settings.contact  # noqa: B018 - MONITOR_CONTACT is read now, as below
        return known
    watchlist = loads_watchlist(decode_text(raw, name), name)
    remember(raw, name, watchlist)
    return watchlist


def loads_watchlist(text: str, path: str = "<string>") -> Watchlist:
    """Validate watchlist text; ``path`` is only used in error messages and the result."""
    from .building import build_watchlist  # pydantic and PyYAML: only when validating

    return build_watchlist(text, path)
