"""Which URLs belong to a site, and the stable watch name each page gets. No I/O.

A site's scope is its ``include`` patterns (none: every page on the hosts of its
sitemaps and start pages) minus its ``exclude`` patterns. A pattern with ``*``, ``?``
or ``[`` is a glob over the whole URL (``*`` also matches ``/``); any other pattern is
a prefix. A pattern starting with ``/`` is matched against the path (and query) on
the site's own hosts.

>>> scope = Scope(hosts=("docs.example.com",),
...               include=("https://docs.example.com/zh/*",), exclude=("*/archive/*",))
>>> [scope.contains(u) for u in ("https://docs.example.com/zh/face.html",
...                              "https://docs.example.com/zh/archive/old.html",
...                              "https://docs.example.com/en/face.html")]
[True, False, False]
"""

from __future__ import annotations

import fnmatch
import hashlib
import posixpath
import re
from collections.abc import Container, Sequence
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import SplitResult, urlsplit, urlunsplit

# Files a documentation page links to that are not documents: never watched as pages.
_ASSETS = (
    ".png .jpg .jpeg .gif .svg .webp .ico .bmp .tif .tiff .css .js .mjs .map .json "
    ".woff .woff2 .ttf .otf .eot .mp3 .mp4 .webm .ogg .wav .avi .mov .zip .gz .tgz "
    ".bz2 .xz .7z .rar .tar .exe .dmg .msi .apk .whl .jar .iso .bin"
)
ASSET_EXTENSIONS = frozenset(_ASSETS.split(" "))
_GLOB = re.compile(r"[*?\[]")
# Most listed URLs are canonical already (lower-case host, no port, no fragment): they
# skip the split and rejoin, the cost of a discovery run of a big site.
_PLAIN = re.compile(r"https?://[a-z0-9.\-]+/[^\s#@\\]*")
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")
MAX_NAME_LENGTH = 100
_HASH_CHARS = 8


def canonical_url(url: str, base: str | None = None) -> str | None:
    """A page URL as the site keeps it: absolute, http(s), no fragment, default port
    dropped, scheme and host lower-case; None for anything that is not a web page URL.

    >>> canonical_url("HTTPS://Docs.Example.com:443/a/b.html#part")
    'https://docs.example.com/a/b.html'
    >>> canonical_url("../c.html?x=1", "https://docs.example.com/a/b/index.html")
    'https://docs.example.com/a/c.html?x=1'
    >>> canonical_url("mailto:x@example.com") is None, canonical_url("https://") is None
    (True, True)
    """
    from urllib.parse import urljoin

    if base is None and _PLAIN.fullmatch(url):
        return url
    try:
        parts = urlsplit(urljoin(base, url.strip()) if base else url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    netloc = host if port in (None, default) else f"{host}:{port}"
    if parts.username or parts.password:
        return None  # credentials in a listed URL: never followed
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def is_asset(url: str) -> bool:
    """True for URLs of images, scripts, archives and the like.

    >>> is_asset("https://x/logo.PNG"), is_asset("https://x/guide.pdf"), is_asset("https://x/a")
    (True, False, False)
    """
    extension = posixpath.splitext(urlsplit(url).path)[1].lower()
    return extension in ASSET_EXTENSIONS


def _matches(pattern: str, url: str, parts: SplitResult, hosts: Container[str]) -> bool:
    if pattern.startswith("/"):
        if parts.netloc not in hosts:
            return False
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    else:
        target = url
    if _GLOB.search(pattern):
        return fnmatch.fnmatchcase(target, pattern)
    return target.startswith(pattern)


@dataclass(frozen=True)
class Scope:
    """The URLs a site's pages may have.

    ``hosts``: the netlocs of the site's sitemaps and start pages (the default scope,
    and what ``/path`` patterns apply to).
    """

    hosts: tuple[str, ...]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @cached_property
    def _hosts(self) -> frozenset[str]:
        return frozenset(self.hosts)

    def contains(self, url: str) -> bool:
        parts = urlsplit(url)
        if posixpath.splitext(parts.path)[1].lower() in ASSET_EXTENSIONS:
            return False
        if self.include:
            if not any(_matches(p, url, parts, self._hosts) for p in self.include):
                return False
        elif parts.netloc not in self._hosts:
            return False
        return not any(_matches(p, url, parts, self._hosts) for p in self.exclude)

    def fingerprint(self, sources: Sequence[str], max_pages: int) -> str:
        """What a change of scope is recognised by (a changed scope re-baselines).

        >>> a = Scope(("x",)).fingerprint(["https://x/sitemap.xml"], 100)
        >>> a == Scope(("x",)).fingerprint(["https://x/sitemap.xml"], 200)
        False
        """
        parts = ["hosts", *sorted(self.hosts), "include", *self.include]
        parts += ["exclude", *self.exclude, "sources", *sources, "max", str(max_pages)]
        key = "\x00".join(parts)
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def page_watch_name(site: str, url: str, taken: Container[str] = ()) -> str:
    """A stable watch name for a site page, from its URL.

    The site's name, a dot, and the URL's path (and query) as a slug. When the slug is
    long, or the name is already taken by another page or watch, a short hash of the
    URL makes it unique; names are kept in the store once given, so a page keeps its
    name for life.

    >>> page_watch_name("aliyun-face", "https://help.aliyun.com/document_detail/70429.html")
    'aliyun-face.document-detail-70429-html'
    >>> page_watch_name("s", "https://x/")
    's.index'
    >>> page_watch_name("s", "https://x/a_b", taken={"s.a-b"})
    's.a-b-c5c2a402'
    """
    parts = urlsplit(url)
    raw = parts.path.strip("/") + (f"-{parts.query}" if parts.query else "")
    slug = _SLUG_JUNK.sub("-", raw.lower()).strip("-") or "index"
    name = f"{site}.{slug}"
    if len(name) <= MAX_NAME_LENGTH and name not in taken:
        return name
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    room = MAX_NAME_LENGTH - len(site) - 2 - _HASH_CHARS
    head = slug[: max(room, 0)].rstrip("-")
    return f"{site}.{head}-{digest}" if head else f"{site}.{digest}"
