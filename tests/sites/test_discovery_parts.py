"""Scope, names, sitemaps, start-page links and robots.txt, as tables."""

from __future__ import annotations

import gzip

import pytest

from monitor.sites.links import page_links
from monitor.sites.robots import Robots, robots_from_response
from monitor.sites.scope import Scope, canonical_url, page_watch_name
from monitor.sites.sitemaps import parse_sitemap

SCOPE = Scope(
    hosts=("docs.example.com",),
    include=("https://docs.example.com/zh/*", "/en/api/"),
    exclude=("*/archive/*", "https://docs.example.com/zh/drafts"),
)
IN_SCOPE = [
    ("https://docs.example.com/zh/face.html", True),
    ("https://docs.example.com/zh/sub/dir/page?x=1", True),  # * crosses '/'
    ("https://docs.example.com/zh/archive/old.html", False),
    ("https://docs.example.com/zh/drafts/x.html", False),  # exclude prefix
    ("https://docs.example.com/en/api/detect", True),  # /path prefix on the site's host
    ("https://other.example.com/en/api/detect", False),  # /path on another host
    ("https://docs.example.com/en/guide", False),
    ("https://docs.example.com/zh/logo.png", False),  # an asset, never a page
    ("https://docs.example.com/zh/guide.pdf", True),
]


@pytest.mark.parametrize(("url", "expected"), IN_SCOPE)
def test_scope(url, expected):
    assert SCOPE.contains(url) is expected


def test_default_scope_is_the_sources_hosts():
    scope = Scope(hosts=("docs.example.com",))
    assert scope.contains("https://docs.example.com/anything")
    assert not scope.contains("https://cdn.example.com/anything")


CANONICAL = [
    ("https://Docs.Example.com/a#x", "https://docs.example.com/a"),
    ("http://docs.example.com:80/a", "http://docs.example.com/a"),
    ("https://docs.example.com:8443", "https://docs.example.com:8443/"),
    ("https://user:pw@docs.example.com/a", None),
    ("javascript:alert(1)", None),
    ("https://docs.example.com:99999/a", None),
    ("  https://docs.example.com/a b  ", "https://docs.example.com/a b"),
]


@pytest.mark.parametrize(("url", "expected"), CANONICAL)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


NAMES = [
    (
        "https://help.aliyun.com/document_detail/70429.html",
        set(),
        "face.document-detail-70429-html",
    ),
    ("https://x/zh/Face-API/", set(), "face.zh-face-api"),
    ("https://x/a?b=1", set(), "face.a-b-1"),
    ("https://x/" + "long-" * 40, set(), None),  # hashed, within 100 characters
    ("https://x/zh/face", {"face.zh-face"}, None),  # taken: hashed
]


@pytest.mark.parametrize(("url", "taken", "expected"), NAMES)
def test_page_watch_names_are_stable_and_valid(url, taken, expected):
    name = page_watch_name("face", url, taken)
    assert name == page_watch_name("face", url, taken)  # stable
    assert len(name) <= 100 and name not in taken and name.startswith("face.")
    if expected:
        assert name == expected


URLSET = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    b"<url><loc>https://d.example/zh/a.html</loc><lastmod>2020-12-01</lastmod></url>"
    b"<url><loc>https://d.example/zh/b.html</loc></url></urlset>"
)
INDEX = (
    b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    b"<sitemap><loc>https://d.example/s1.xml.gz</loc></sitemap>"
    b"<sitemap><loc>https://d.example/s2.txt</loc></sitemap></sitemapindex>"
)
SITEMAPS = [
    # url, body, content type -> kind, pages, children, complete
    ("https://d.example/s.xml", URLSET, None, "pages", 2, 0, True),
    ("https://d.example/s.xml.gz", gzip.compress(URLSET), "application/gzip", "pages", 2, 0, True),
    ("https://d.example/s", gzip.compress(URLSET), "application/octet-stream", "pages", 2, 0, True),
    ("https://d.example/index.xml", INDEX, "application/xml", "index", 0, 2, True),
    (
        "https://d.example/s.txt",
        b"https://d.example/a\nnot a url\n\nhttps://d.example/b\n",
        "text/plain",
        "pages",
        2,
        0,
        True,
    ),
    ("https://d.example/s.xml", URLSET[:-40], None, "pages", 1, 0, False),  # truncated XML
    ("https://d.example/s.xml.gz", gzip.compress(URLSET)[:-12], None, "invalid", 0, 0, False),
    (
        "https://d.example/s.xml",
        b"<html><body>404</body></html>",
        "text/html",
        "invalid",
        0,
        0,
        False,
    ),
    (
        "https://d.example/s.xml",
        b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY e "x">]><urlset/>',
        None,
        "invalid",
        0,
        0,
        False,
    ),
    ("https://d.example/s.xml", b"", None, "pages", 0, 0, True),  # an empty text sitemap
]


@pytest.mark.parametrize(
    ("url", "body", "ctype", "kind", "pages", "children", "complete"), SITEMAPS
)
def test_parse_sitemap(url, body, ctype, kind, pages, children, complete):
    listing = parse_sitemap(url, body, ctype)
    assert (listing.kind, len(listing.pages), len(listing.sitemaps), listing.complete) == (
        kind,
        pages,
        children,
        complete,
    )


LINKS = [
    (
        b'<ul><li><a href="a.html">A</a></li><li><a href="/zh/b.html#top">B</a></li>'
        b'<li><a href="a.html">A again</a></li><li><a href="mailto:x@y">mail</a></li>'
        b'<li><a href="https://other.example/x">out</a></li><map><area href="c.html"></map></ul>',
        "text/html",
        [
            "https://d.example/zh/a.html",
            "https://d.example/zh/b.html",
            "https://other.example/x",
            "https://d.example/zh/c.html",
        ],
    ),
    (
        '<a href="人脸.html">人脸</a>'.encode("gb18030"),
        "text/html; charset=gb18030",
        ["https://d.example/zh/人脸.html"],
    ),
    (
        b'[{"href": "a.html", "children": [{"href": "../en/b.html"}]}, {"title": "x"}]',
        "application/json",
        ["https://d.example/zh/a.html", "https://d.example/en/b.html"],
    ),
    (b"", "text/html", []),
    (b"\x00\x01binary", None, []),
]


@pytest.mark.parametrize(("body", "ctype", "expected"), LINKS)
def test_page_links(body, ctype, expected):
    assert page_links(body, "https://d.example/zh/toc.html", ctype) == expected


@pytest.mark.parametrize(
    "body", [b"{not json", b'{"a": ' * 100_000 + b'{"href": "x.html"}' + b"}" * 100_000]
)
def test_unreadable_json_start_pages_are_an_error_not_an_empty_list(body):
    with pytest.raises(ValueError, match="JSON"):
        page_links(body, "https://d.example/zh/toc.json", "application/json")


ROBOTS = (
    "User-agent: *\nDisallow: /zh/private/\n\n"
    "User-agent: monitor\nDisallow: /zh/internal/\nCrawl-delay: 1.5\n"
    "Sitemap: https://d.example/sitemap_index.xml\n"
)
ROBOTS_CASES = [
    # status, body, url -> allowed
    (200, ROBOTS, "https://d.example/zh/a.html", True),
    (200, ROBOTS, "https://d.example/zh/internal/a.html", False),  # our own group
    (200, ROBOTS, "https://d.example/zh/private/a.html", True),  # * does not apply to us
    (404, "", "https://d.example/zh/internal/a.html", True),  # no robots.txt
    (403, "", "https://d.example/zh/a.html", True),  # 4xx: unavailable, allowed
    (503, "", "https://d.example/zh/a.html", False),  # 5xx: unreachable, nothing allowed
    (None, "", "https://d.example/zh/a.html", False),  # no answer
]


@pytest.mark.parametrize(("status", "body", "url", "allowed"), ROBOTS_CASES)
def test_robots(status, body, url, allowed):
    robots = robots_from_response("https://d.example/robots.txt", status, body.encode(), "timeout")
    assert robots.allows(url) is allowed


def test_robots_sitemaps_and_delay():
    robots = Robots.parse("https://d.example/robots.txt", ROBOTS)
    assert robots.sitemaps == ["https://d.example/sitemap_index.xml"]
    assert robots.crawl_delay == 1.5
    assert Robots.parse("u", "User-agent: *\nCrawl-delay: 100000\n").crawl_delay == 300.0
