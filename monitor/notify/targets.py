"""A route's destinations: apprise URLs from the watchlist or the environment.

A destination is known to the outbox only by its **key**, the URL in apprise's privacy
form (passwords and tokens masked) without apprise's generic tuning parameters: that is
what is stored, logged and shown. The URL itself lives in memory only, read from the
file or the environment at the moment it is needed. Anything apprise reports about a
send passes through :func:`Secrets.scrub` before it is kept.

>>> target = resolve_url("mailtos://alice:hunter2@smtp.example.org?to=r@example.org")
>>> target.key
'mailtos://alice:****@smtp.example.org/r%40example.org?mode=starttls'
>>> target.style, "hunter2" in repr(target)
('email', False)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from ..config.route_urls import describe_url, quiet_apprise, split_urls
from ..config.routes import Route
from ..errors import ConfigError
from .event import Style

# Schemes whose readers get everything: e-mail (HTML) and webhooks that feed other tools.
_EMAIL = frozenset(("mailto", "mailtos"))
_WEBHOOK = frozenset(("json", "jsons", "form", "forms", "xml", "xmls"))
# apprise's generic tuning parameters: not part of a destination's identity.
_GENERIC = frozenset(
    ("overflow", "retry", "wait", "optional", "cto", "rto", "verify", "format", "emojis",
     "tz", "store", "interpret-emojis", "image")
)  # fmt: skip
_MIN_SECRET = 8  # shorter path parts are names (hook, api), not tokens


@dataclass(frozen=True)
class Target:
    """One destination. ``url`` holds secrets and never leaves memory."""

    key: str
    url: str = field(repr=False)
    style: Style
    body_maxlen: int = 32768

    def plugin(self) -> Any:
        """A fresh apprise plugin for this URL."""
        import apprise

        with quiet_apprise():
            plugin = apprise.Apprise.instantiate(self.url, asset=_asset())
        if plugin is None:  # validated before; only a changed environment gets here
            raise ConfigError(f"{self.key}: apprise cannot use this URL any more")
        return plugin


def _asset() -> Any:
    import apprise

    # No persistent storage (apprise keeps nothing on disk for us), masked URLs in its logs.
    return apprise.AppriseAsset(
        app_id="monitor",
        app_desc="monitor: vendor documentation watch",
        app_url="https://github.com/",
        secure_logging=True,
    )


def style_of(url: str) -> Style:
    """How complete a message this destination gets.

    >>> style_of("mailtos://u:p@x.org"), style_of("json://h/p"), style_of("tgram://t/c")
    ('email', 'full', 'short')
    """
    scheme = url.split("://", 1)[0].lower()
    if scheme in _EMAIL:
        return "email"
    return "full" if scheme in _WEBHOOK else "short"


def redact(plugin: Any) -> str:
    """apprise's privacy form of a URL, without its generic tuning parameters."""
    masked = str(plugin.url(privacy=True))
    parts = urlsplit(masked)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _GENERIC]
    return urlunsplit(parts._replace(query=urlencode(query, safe="@:/,*")))


def resolve_url(url: str) -> Target:
    """A Target for one URL (ValueError, without quoting the URL, when apprise can't use it)."""
    import apprise

    url = url.strip()
    with quiet_apprise():
        plugin = apprise.Apprise.instantiate(url, asset=_asset())
    if plugin is None:
        raise ValueError(f"{describe_url(url)} is not one apprise can use")
    maxlen = int(getattr(plugin, "body_maxlen", 32768) or 32768)
    return Target(redact(plugin), url, style_of(url), maxlen)


@dataclass(frozen=True)
class Resolved:
    """A route's destinations now, and what kept others from being read."""

    targets: tuple[Target, ...]
    problems: tuple[str, ...] = ()


def resolve(route: Route, environ: Mapping[str, str] | None = None) -> Resolved:
    """The route's destinations: its file URLs, then those in its environment variable.

    Two URLs with the same masked form get ``#2``, ``#3``… so that each keeps its own
    delivery record.
    """
    environ = os.environ if environ is None else environ
    urls: list[tuple[str, str]] = [(u, f"urls[{i}]") for i, u in enumerate(route.urls)]
    problems: list[str] = []
    if route.urls_env:
        value = environ.get(route.urls_env, "")
        if not value.strip():
            problems.append(
                f"environment variable {route.urls_env} is not set: this route has "
                f"{'only its file URLs' if route.urls else 'no destination'} until it is"
            )
        else:
            urls += [(u, f"{route.urls_env} item {i + 1}") for i, u in enumerate(split_urls(value))]
    targets: list[Target] = []
    seen: dict[str, int] = {}
    for url, origin in urls:
        try:
            target = resolve_url(url)
        except ValueError as error:
            problems.append(f"{origin}: {error}")
            continue
        count = seen[target.key] = seen.get(target.key, 0) + 1
        if count > 1:
            target = Target(f"{target.key} #{count}", target.url, target.style, target.body_maxlen)
        targets.append(target)
    return Resolved(tuple(targets), tuple(problems))


class Secrets:
    """Masks the secret parts of known URLs in any text (apprise's errors, exceptions).

    >>> s = Secrets(["slack://T0000000/B0000000/XXXXsecretXXXX", "mailtos://bob:pa55word@x.org"])
    >>> s.scrub("POST https://hooks.slack.com/services/T0000000/B0000000/XXXXsecretXXXX failed")
    'POST https://hooks.slack.com/services/****/****/**** failed'
    >>> s.scrub("login pa55word refused")
    'login **** refused'
    """

    def __init__(self, urls: Sequence[str]) -> None:
        pieces: set[str] = set()
        for url in urls:
            pieces.add(url)
            pieces.update(_secret_parts(url))
        variants = {v for p in pieces for v in (p, quote(p, safe=""), unquote(p))}
        ordered = sorted((v for v in variants if len(v) >= 3), key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def scrub(self, text: str) -> str:
        return self._pattern.sub("****", text) if self._pattern else text


def _secret_parts(url: str) -> list[str]:
    """Password, long path segments and query values, token-like hosts: where services
    keep their secrets. E-mail addresses and host names are not masked.

    >>> _secret_parts("tgram://123456789:AAbbCCdd_eeff/12315544/?to=a@b.org")
    ['123456789', 'AAbbCCdd_eeff', '12315544']
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [parts.password] if parts.password and len(parts.password) >= 3 else []
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if netloc and "." not in netloc and netloc.lower() != "localhost":
        found += netloc.split(":")  # tgram://TOKEN/…: the "host" is the bot token
    found += [segment for segment in parts.path.split("/") if segment]
    found += [v for _, v in parse_qsl(parts.query)]
    return [p for p in found if len(p) >= _MIN_SECRET and "@" not in p]
