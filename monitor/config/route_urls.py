"""Apprise URLs in a watchlist: are they usable, and what may be said about them.

A URL may hold a password or a token, so nothing here ever quotes one: a problem is
described by the URL's scheme and position only, and apprise's own log lines (which
may quote a URL) are kept out of the user's log while it parses one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["describe_url", "quiet_apprise", "split_urls", "url_problem"]


def describe_url(url: str) -> str:
    """What may be said about a URL that could hold a secret: its scheme.

    >>> describe_url("slack://T1/B2/secret-token")
    "a 'slack://' URL"
    >>> describe_url("no scheme here")
    'text without a scheme://'
    """
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if not scheme or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return "text without a scheme://"
    return f"a {scheme.lower() + '://'!r} URL"


@contextmanager
def quiet_apprise() -> Iterator[None]:
    """Keep apprise's own log lines (which may quote a URL) out of the user's log."""
    logger = logging.getLogger("apprise")
    propagate, disabled = logger.propagate, logger.disabled
    logger.propagate, logger.disabled = False, True
    try:
        yield
    finally:
        logger.propagate, logger.disabled = propagate, disabled


def url_problem(url: str) -> str | None:
    """Why apprise cannot use a URL (None when it can); the message never quotes it.

    >>> url_problem("json://127.0.0.1:8080/hook") is None
    True
    >>> print(url_problem("slakc://T1/B2/secret"))  # doctest: +ELLIPSIS
    a 'slakc://' URL is not one apprise knows: check the service's URL form in...
    """
    import apprise  # imported here: loading its plugins costs ~0.3 s

    if not url.strip():
        return "an empty URL; remove it or write the service's apprise URL"
    if any(c.isspace() for c in url.strip()):
        return f"{describe_url(url)} contains spaces; put one URL per list item"
    with quiet_apprise():
        plugin = apprise.Apprise.instantiate(url.strip())
    if plugin is None:
        if "://" not in url:
            return (
                "text without a scheme:// is not an apprise URL; write one like "
                "mailtos://user:password@example.org or json://host/path"
            )
        return (
            f"{describe_url(url)} is not one apprise knows: "
            "check the service's URL form in apprise's documentation"
        )
    return None


def split_urls(text: str) -> list[str]:
    """URLs in an environment variable: separated by spaces, commas or new lines.

    A comma inside a URL's query (``to=a@x,b@x``) stays in that URL, as apprise reads it.

    >>> split_urls("mailtos://u:p@x.org?to=a@x.org,b@x.org, json://h/p\\nslack://a/b/c")
    ['mailtos://u:p@x.org?to=a@x.org,b@x.org', 'json://h/p', 'slack://a/b/c']
    """
    try:
        from apprise.utils.parse import parse_urls
    except ImportError:  # apprise before 1.9.1 kept it in apprise.utils
        from apprise.utils import parse_urls  # type: ignore[attr-defined,no-redef]

    return [u for u in parse_urls(text) if u.strip()]
