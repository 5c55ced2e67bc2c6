"""Sitemaps: bytes monitor fetched -> the page URLs and child sitemaps they list.

Parsing is ultimate-sitemap-parser's (XML sitemaps and sitemap indexes, gzip-compressed
or not, plain-text sitemaps, RSS and Atom feeds; hardened against DTDs and entities;
tolerant of truncated XML). It never fetches anything here: monitor's own fetcher
downloads each sitemap (so the raw bytes are kept as evidence, and the User-Agent, TLS
verification and per-host politeness are monitor's), and the parser is handed those
bytes through a web client that serves exactly one response and refuses every other
request. The child sitemaps of an index come back unfetched, and the discovery run
fetches them in turn, one at a time, so memory holds one sitemap's pages at most.

>>> listing = parse_sitemap("https://d.example/sitemap.xml",
...     b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
...     b'<url><loc>https://d.example/zh/a.html</loc></url></urlset>')
>>> listing.kind, listing.pages, listing.sitemaps
('pages', ['https://d.example/zh/a.html'], [])
"""

from __future__ import annotations

import gzip
import io
import logging
import zlib
from dataclasses import dataclass, field
from xml.parsers import expat

from usp.fetch_parse import SitemapFetcher
from usp.objects.sitemap import (
    AbstractIndexSitemap,
    AbstractPagesSitemap,
    AbstractSitemap,
    InvalidSitemap,
)
from usp.web_client.abstract_client import (
    AbstractWebClient,
    AbstractWebClientResponse,
    AbstractWebClientSuccessResponse,
    NoWebClientException,
)

# The parser logs every unfetched child sitemap and every XML error; monitor reports
# what matters in the discovery run's result instead.
logging.getLogger("usp").setLevel(logging.CRITICAL)

MAX_SITEMAP_BYTES = 100 * 1024 * 1024  # uncompressed; the protocol's own limit is 50 MB


@dataclass(frozen=True)
class Listing:
    """What one sitemap file lists.

    ``kind``: ``pages`` (a urlset, text sitemap or feed), ``index`` (a sitemap index)
    or ``invalid`` (nothing the parser recognises). ``error`` is set when the file
    could not be read whole (corrupt gzip, truncated or malformed XML): what it did
    list is kept, but a run that read it is incomplete and counts no page as missing.
    """

    kind: str
    pages: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def complete(self) -> bool:
        return self.error is None and self.kind != "invalid"


class _Response(AbstractWebClientSuccessResponse):
    def __init__(self, url: str, body: bytes, content_type: str | None) -> None:
        self._url = url
        self._body = body
        self._content_type = content_type

    def status_code(self) -> int:
        return 200

    def status_message(self) -> str:
        return "OK"

    def header(self, case_insensitive_name: str) -> str | None:
        if case_insensitive_name.lower() == "content-type":
            return self._content_type
        return None

    def raw_data(self) -> bytes:
        return self._body

    def url(self) -> str:
        return self._url


class _OneResponse(AbstractWebClient):
    """A web client that serves one already-fetched response and nothing else."""

    def __init__(self, url: str, body: bytes, content_type: str | None) -> None:
        self._response: _Response | None = _Response(url, body, content_type)
        self._url = url

    def set_max_response_data_length(self, max_response_data_length: int | None) -> None:
        pass  # monitor's fetcher already capped the body

    def get(self, url: str) -> AbstractWebClientResponse:
        response, self._response = self._response, None
        if response is None or url != self._url:
            raise NoWebClientException  # a child sitemap: the discovery run fetches it
        return response


def parse_sitemap(url: str, body: bytes, content_type: str | None = None) -> Listing:
    """The pages and child sitemaps listed by one fetched sitemap.

    ``url`` is where the bytes came from (after redirects): a ``.gz`` path or a gzip
    content type makes the parser gunzip them. A plain-text sitemap lists one URL per
    line:

    >>> parse_sitemap("https://d.example/urls.txt", b"https://d.example/a\\nhttps://d.example/b\\n").pages
    ['https://d.example/a', 'https://d.example/b']
    >>> parse_sitemap("https://d.example/s.xml", b"<html><body>Not found</body></html>").kind
    'invalid'
    """
    if body[:2] == b"\x1f\x8b":
        # Gunzipped here, not by the parser, which takes a corrupt or truncated gzip
        # file for plain text and would list nothing without saying so.
        try:
            body = _gunzip(body)
        except (OSError, EOFError, zlib.error) as error:
            return Listing("invalid", error=f"corrupt gzip file: {error}")
    problem = _xml_problem(body)
    try:
        fetcher = SitemapFetcher(url, 0, web_client=_OneResponse(url, body, content_type))
        tree = fetcher.sitemap()
    except Exception as error:  # the parser's own errors: a sitemap we cannot read
        return Listing("invalid", error=f"{type(error).__name__}: {error}")
    listing = _listing(tree)
    if problem:
        listing = Listing(listing.kind, listing.pages, listing.sitemaps, problem)
    return listing


def _gunzip(data: bytes) -> bytes:
    out = bytearray()
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
        while chunk := stream.read(1 << 20):
            out += chunk
            if len(out) > MAX_SITEMAP_BYTES:
                raise OSError(f"more than {MAX_SITEMAP_BYTES} bytes uncompressed")
    return bytes(out)


def _xml_problem(body: bytes) -> str | None:
    """Why an XML sitemap is not whole (truncated, malformed), or None.

    The parser keeps what it read before an XML error, silently; a run must know.
    """
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        return None  # a plain-text sitemap
    parser = expat.ParserCreate()

    def refuse(*_: object) -> None:
        raise ValueError("DOCTYPE declarations are not accepted in sitemaps")

    parser.StartDoctypeDeclHandler = refuse
    try:
        parser.Parse(body, True)
    except (expat.ExpatError, ValueError) as error:
        return f"malformed or truncated XML: {error}"
    return None


def _listing(tree: AbstractSitemap) -> Listing:
    if isinstance(tree, InvalidSitemap):
        return Listing("invalid", error=tree.reason)
    if isinstance(tree, AbstractIndexSitemap):
        children = list(dict.fromkeys(child.url for child in tree.sub_sitemaps))
        return Listing("index", sitemaps=children)
    if isinstance(tree, AbstractPagesSitemap):
        return Listing("pages", pages=list(dict.fromkeys(page.url for page in tree.pages)))
    return Listing("invalid", error=f"unexpected sitemap type {type(tree).__name__}")
