"""Alert routes: the watchlist's ``notify:`` list (who hears about which events, how).

A route names where alerts go (apprise URLs, written in the file or, better, kept in
an environment variable so that tokens and passwords stay out of files) and which
events it wants::

    notify:
      - name: team
        urls_env: MONITOR_NOTIFY_TEAM      # "mailtos://… slack://…", separated by spaces
        tags: [face-recognition]           # filters: watches, tags, vendors
        kinds: [changed, attention]        # default: [changed]
        flagged_only: true
        digest: 6h                         # optional: one message per period

Filters combine with AND across keys and OR within one key: ``tags: [a, b]`` and
``vendors: [X]`` is "tagged a or b, and by vendor X". A route with no filter hears
about every watch.

A URL may hold a secret, so this module never puts one in an error message, a
``repr`` or anything meant for storage: :meth:`Route.public` is what may be kept or
shown, and URL problems are described by position and scheme only.

>>> route = parse_route({"name": "team", "urls": ["json://127.0.0.1:8080/hook"],
...                      "kinds": ["changed", "attention"], "flagged_only": True})
>>> route.kinds
('changed', 'gone', 'unreachable', 'blocked', 'selector_missing', 'no_text_layer', 'incomplete')
>>> route.wants("aliyun-face", ("zh",), "Alibaba Cloud", "changed", flagged=False)
False
>>> route.wants("aliyun-face", ("zh",), "Alibaba Cloud", "gone", flagged=False)
True
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..model import ATTENTION_EVENTS, EventKind
from . import defaults
from .fields import format_interval, parse_interval
from .route_urls import url_problem

if TYPE_CHECKING:
    from .route_schema import RouteEntry

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RATE = re.compile(r"\s*(\d+)\s*/\s*(\S+)\s*")
_KIND_ORDER = tuple(kind.value for kind in EventKind)
# Shorthands a route's kinds may use.
KIND_GROUPS: dict[str, tuple[str, ...]] = {
    "attention": tuple(k for k in _KIND_ORDER if k in ATTENTION_EVENTS),
    "all": _KIND_ORDER,
}


@dataclass(frozen=True, slots=True)
class Route:
    """One alert route, validated. ``urls`` may hold secrets: never log or store them."""

    name: str
    urls: tuple[str, ...] = field(default=(), repr=False)
    urls_env: str | None = None
    watches: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    vendors: tuple[str, ...] = ()
    kinds: tuple[str, ...] = (EventKind.CHANGED.value,)
    flagged_only: bool = False
    digest_seconds: float | None = None
    wait_seconds: float = defaults.NOTIFY_WAIT
    rate_count: int = defaults.NOTIFY_RATE_COUNT
    rate_seconds: float = defaults.NOTIFY_RATE_SECONDS
    summarize_over: int = defaults.NOTIFY_SUMMARIZE_OVER
    retry_seconds: float = defaults.NOTIFY_RETRY
    report_url: str | None = None  # a link template with {id} (and {watch}), or None

    def wants(
        self, watch: str, tags: Sequence[str], vendor: str | None, kind: str, flagged: bool
    ) -> bool:
        """Does an event of this kind, on a watch with these tags and vendor, go here?

        ``flagged_only`` concerns ``changed`` events only: the other kinds never carry
        flags, and a route that asks for ``gone`` wants every ``gone``.

        >>> r = Route("r", tags=("zh",), vendors=("Baidu",), flagged_only=True)
        >>> r.wants("a", ["zh", "face"], "Baidu", "changed", flagged=True)
        True
        >>> r.wants("a", ["en"], "Baidu", "changed", flagged=True)
        False
        >>> r.wants("a", ["zh"], "Baidu", "changed", flagged=False)
        False
        """
        if kind not in self.kinds:
            return False
        if self.flagged_only and kind == EventKind.CHANGED and not flagged:
            return False
        if self.watches and watch not in self.watches:
            return False
        if self.tags and not set(self.tags).intersection(tags):
            return False
        return not self.vendors or vendor in self.vendors

    def public(self) -> dict[str, Any]:
        """The route without its URLs: safe to store, log and show.

        >>> Route("team", urls=("slack://secret",), urls_env="X").public()["urls_env"]
        'X'
        >>> "urls" in Route("team", urls=("slack://secret",)).public()
        False
        """
        return {
            "name": self.name,
            "urls_in_file": len(self.urls),
            "urls_env": self.urls_env,
            "watches": list(self.watches),
            "tags": list(self.tags),
            "vendors": list(self.vendors),
            "kinds": list(self.kinds),
            "flagged_only": self.flagged_only,
            "digest_seconds": self.digest_seconds,
            "wait_seconds": self.wait_seconds,
            "rate_limit": [self.rate_count, self.rate_seconds],
            "summarize_over": self.summarize_over,
            "retry_seconds": self.retry_seconds,
            "report_url": self.report_url,
        }

    def describe(self, environ: Mapping[str, str] | None = None) -> str:
        """One line for listings (no URL shown).

        >>> Route("team", urls_env="MONITOR_T", flagged_only=True, digest_seconds=86400.0
        ...       ).describe({})
        'changed (flagged only), digest 1d -> $MONITOR_T (not set)'
        """
        environ = os.environ if environ is None else environ
        kinds = ", ".join(self.kinds) + (" (flagged only)" if self.flagged_only else "")
        timing = f", digest {format_interval(self.digest_seconds)}" if self.digest_seconds else ""
        where = [f"{len(self.urls)} URL(s) in the file"] if self.urls else []
        if self.urls_env:
            state = "set" if environ.get(self.urls_env, "").strip() else "not set"
            where.append(f"${self.urls_env} ({state})")
        return f"{kinds}{timing} -> {', '.join(where)}"

    @classmethod
    def from_public(cls, data: dict[str, Any]) -> Route:
        """A route rebuilt from :meth:`public` (filters and timing; no URLs).

        >>> r = Route("team", urls=("json://h/p",), tags=("zh",), digest_seconds=3600.0)
        >>> Route.from_public(r.public()) == Route("team", tags=("zh",), digest_seconds=3600.0)
        True
        """
        count, seconds = data.get("rate_limit") or (
            defaults.NOTIFY_RATE_COUNT,
            defaults.NOTIFY_RATE_SECONDS,
        )
        return cls(
            name=data["name"],
            urls_env=data.get("urls_env"),
            watches=tuple(data.get("watches") or ()),
            tags=tuple(data.get("tags") or ()),
            vendors=tuple(data.get("vendors") or ()),
            kinds=tuple(data.get("kinds") or (EventKind.CHANGED.value,)),
            flagged_only=bool(data.get("flagged_only")),
            digest_seconds=data.get("digest_seconds"),
            wait_seconds=data.get("wait_seconds", defaults.NOTIFY_WAIT),
            rate_count=int(count),
            rate_seconds=float(seconds),
            summarize_over=data.get("summarize_over", defaults.NOTIFY_SUMMARIZE_OVER),
            retry_seconds=data.get("retry_seconds", defaults.NOTIFY_RETRY),
            report_url=data.get("report_url"),
        )


# ---------------------------------------------------------------------------
# Field checks (ValueError messages are what the user sees: never quote a URL)


def _check_route_url(url: str) -> str:
    problem = url_problem(url)
    if problem:
        raise ValueError(problem)
    return url.strip()


def _check_env_name(name: str | None) -> str | None:
    if name is None:
        return None
    if "://" in name:  # a URL written here by mistake: never repeat it (it may hold a token)
        raise ValueError(
            "urls_env names an environment variable that holds the URLs, not a URL: "
            "write urls_env: MONITOR_NOTIFY_TEAM and export MONITOR_NOTIFY_TEAM='mailtos://…'"
        )
    if not _ENV_NAME.fullmatch(name):
        raise ValueError(
            f"bad environment variable name {name!r}: use letters, digits and '_', "
            "like MONITOR_NOTIFY_TEAM"
        )
    return name


def _check_kind(kind: str) -> str:
    if kind not in _KIND_ORDER and kind not in KIND_GROUPS:
        import difflib

        known = [*_KIND_ORDER, *KIND_GROUPS]
        close = difflib.get_close_matches(kind, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown event kind {kind!r}{hint}; known kinds: {', '.join(known)}")
    return kind


def _check_interval(value: object) -> float | None:
    if value is None:
        return None
    seconds = parse_interval(value)  # type: ignore[arg-type]
    return seconds


def _check_digest(value: object) -> float | None:
    seconds = _check_interval(value)
    if seconds is not None and seconds < defaults.NOTIFY_MIN_DIGEST:
        least = format_interval(defaults.NOTIFY_MIN_DIGEST)
        raise ValueError(
            f"digest period {value!r} is below the minimum of {least}; use {least} or more "
            "(or drop digest to send each event at once)"
        )
    return seconds


def _check_retry(value: object) -> float | None:
    seconds = _check_interval(value)
    if seconds is not None and not 1 <= seconds <= 3600:
        raise ValueError(f"retry {value!r} must be between 1s and 1h")
    return seconds


def _check_rate(value: object) -> tuple[int, float] | None:
    """``"10/1h"``: at most 10 messages per hour on this route.

    >>> _check_rate("10/1h"), _check_rate("3/d")
    ((10, 3600.0), (3, 86400.0))
    """
    if value is None:
        return None
    match = _RATE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"bad rate_limit {value!r}: write messages per period, like 10/1h or 50/d")
    count, period = int(match[1]), match[2]
    try:
        seconds = parse_interval(period if period[0].isdigit() else f"1{period}")
    except ValueError:
        raise ValueError(
            f"bad rate_limit {value!r}: the period is an interval like 1h, 30m or d"
        ) from None
    if count < 1 or seconds < 60:
        raise ValueError(f"rate_limit {value!r} must allow at least 1 message per 1m or more")
    return count, seconds


def _check_report_url(template: str | None) -> str | None:
    if template is None:
        return None
    parts = urlsplit(template)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"report_url {template!r} must be an http(s) link, like "
            "https://monitor.example.org/changes/{id}"
        )
    try:
        template.format(id=1, watch="w")
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(
            f"report_url {template!r}: only {{id}} and {{watch}} may be filled in ({error})"
        ) from None
    return template


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("empty value; remove it")
    return value.strip()


def expand_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """Kinds with the shorthands expanded, in the contract's order.

    >>> expand_kinds(["restored", "attention"])[:4]
    ('gone', 'restored', 'unreachable', 'blocked')
    """
    wanted = {k for kind in kinds for k in KIND_GROUPS.get(kind, (kind,))}
    return tuple(k for k in _KIND_ORDER if k in wanted)


def route_from_entry(entry: RouteEntry) -> Route:
    """A validated entry as a :class:`Route` (cross-entry checks are the watchlist's)."""
    rate = entry.rate_limit or (defaults.NOTIFY_RATE_COUNT, defaults.NOTIFY_RATE_SECONDS)
    return Route(
        name=entry.name,
        urls=tuple(dict.fromkeys(entry.urls)),
        urls_env=entry.urls_env,
        watches=tuple(dict.fromkeys(entry.watches)),
        tags=tuple(dict.fromkeys(entry.tags)),
        vendors=tuple(dict.fromkeys(entry.vendors)),
        kinds=expand_kinds(entry.kinds),
        flagged_only=entry.flagged_only,
        digest_seconds=entry.digest,
        wait_seconds=defaults.NOTIFY_WAIT if entry.wait is None else entry.wait,
        rate_count=rate[0],
        rate_seconds=rate[1],
        summarize_over=entry.summarize_over,
        retry_seconds=defaults.NOTIFY_RETRY if entry.retry is None else entry.retry,
        report_url=entry.report_url,
    )


def parse_route(data: dict[str, Any]) -> Route:
    """One route from plain data (tests and tools; watchlists go through loads_watchlist)."""
    from .route_schema import RouteEntry  # pydantic: only when validating

    return route_from_entry(RouteEntry.model_validate(data))
