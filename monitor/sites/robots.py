"""robots.txt, read with Protego: which pages a site lets monitor fetch, how slowly,
and the sitemaps it lists.

What a fetch of ``/robots.txt`` means follows RFC 9309: a 2xx body is the rules; a
4xx (most often 404: no robots.txt) allows everything; a 5xx or no answer at all
means the rules are unknown, so nothing may be assumed allowed and the discovery
run stops there (it is retried on the next run, and no page is counted missing).

Rules are matched for the product token ``monitor`` (the first word of monitor's
User-Agent); ``User-agent: *`` groups apply when no group names it.

>>> robots = Robots.parse("https://d.example/robots.txt",
...     "User-agent: *\\nDisallow: /private/\\nCrawl-delay: 2\\nSitemap: https://d.example/s.xml\\n")
>>> robots.allows("https://d.example/zh/a.html"), robots.allows("https://d.example/private/x")
(True, False)
>>> robots.crawl_delay, robots.sitemaps
(2.0, ['https://d.example/s.xml'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from protego import Protego

PRODUCT_TOKEN = "monitor"
MAX_CRAWL_DELAY = 300.0  # seconds; a longer Crawl-delay is honoured as this


def robots_url(url: str) -> str:
    """The robots.txt that governs a URL.

    >>> robots_url("https://d.example:8443/zh/a.html?x=1")
    'https://d.example:8443/robots.txt'
    """
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


@dataclass(frozen=True)
class Robots:
    """The robots.txt rules of one host (``rules`` None: everything is allowed)."""

    url: str
    rules: Protego | None = field(default=None, compare=False)
    unknown: str | None = None  # why the rules could not be read (5xx, no answer)

    @classmethod
    def parse(cls, url: str, text: str) -> Robots:
        return cls(url, Protego.parse(text))

    @classmethod
    def allow_all(cls, url: str) -> Robots:
        return cls(url)

    @classmethod
    def unreadable(cls, url: str, reason: str) -> Robots:
        return cls(url, unknown=reason)

    def allows(self, url: str) -> bool:
        if self.unknown is not None:
            return False
        return self.rules is None or bool(self.rules.can_fetch(url, PRODUCT_TOKEN))

    @property
    def crawl_delay(self) -> float | None:
        if self.rules is None:
            return None
        delay = self.rules.crawl_delay(PRODUCT_TOKEN)
        return None if delay is None else min(float(delay), MAX_CRAWL_DELAY)

    @property
    def sitemaps(self) -> list[str]:
        if self.rules is None:
            return []
        return list(dict.fromkeys(self.rules.sitemaps))


def robots_from_response(url: str, status: int | None, body: bytes, error: str | None) -> Robots:
    """What a fetch of robots.txt means (RFC 9309, section 2.3.1).

    >>> robots_from_response("https://d/robots.txt", 404, b"", None).allows("https://d/a")
    True
    >>> robots_from_response("https://d/robots.txt", 503, b"", None).unknown
    'robots.txt answered HTTP 503: rules unknown, nothing assumed allowed'
    """
    if status is None:
        return Robots.unreadable(url, f"robots.txt could not be fetched: {error or 'no answer'}")
    if 200 <= status < 300:
        return Robots.parse(url, body.decode("utf-8", errors="replace"))
    if 400 <= status < 500:
        return Robots.allow_all(url)
    return Robots.unreadable(
        url, f"robots.txt answered HTTP {status}: rules unknown, nothing assumed allowed"
    )
