"""The watchlist keys for sites, counterparts and term groups: good files load, bad ones
are refused with the file, line, entry and field named."""

from __future__ import annotations

import pytest

from monitor.config.watchlist import loads_watchlist
from monitor.errors import WatchlistError

WATCHES = """\
watches:
  - {name: face-zh, url: "https://d.example/zh/face.html", tags: [alibaba, zh-CN]}
  - {name: face-en, url: "https://d.example/en/face.html", tags: [en]}
"""


def test_a_site_takes_every_rule_a_watch_takes():
    wl = loads_watchlist(
        """\
defaults:
  terms: [ethnicity]
  exclude: [nav]
  every: 6h
term_groups:
  uyghur: [维族, Uyghur]
sites:
  - name: docs
    start: https://d.example/zh/toc.html
    include: [/zh/]
    exclude: ["*/archive/*"]
    exclude_css: [.feedback]
    select: main
    terms: [人脸属性]
    ignore: ['^更新时间.*$']
    every: 1d
    discover_every: 12h
    headers: {Accept-Language: zh-CN}
"""
    )
    (site,) = wl.sites
    page = site.page_watch("docs.zh-a", "https://d.example/zh/a.html")
    assert site.sitemaps is None  # robots.txt's sitemaps
    assert site.exclude == ("*/archive/*",) and page.exclude == ("nav", ".feedback")
    assert page.terms == ("ethnicity", "人脸属性", "维族", "Uyghur")
    assert page.term_groups == (("uyghur", ("维族", "Uyghur")),)
    assert (page.every_seconds, site.discover_every_seconds) == (86400.0, 43200.0)
    assert page.tags == ("docs",) and page.headers == (("Accept-Language", "zh-CN"),)
    assert wl.watches == ()


def test_counterparts_forms():
    wl = loads_watchlist(
        WATCHES
        + """\
sites:
  - {name: s-zh, start: "https://d.example/zh/"}
  - {name: s-en, start: "https://d.example/en/"}
counterparts:
  - [face-zh, face-en]
  - name: face-pair
    watches: {zh: face-zh, en: face-en}
  - name: docs
    sites: [s-zh, s-en]
    map: {"/zh/": "/en/"}
"""
    )
    short, named, sites = wl.counterparts
    assert short.name == "face-zh" and short.versions == (("zh-CN", "face-zh"), ("en", "face-en"))
    assert named.versions == (("zh", "face-zh"), ("en", "face-en"))
    assert sites.sites == (("s-zh", "s-zh"), ("s-en", "s-en"))
    assert sites.url_map == ("/zh/", "/en/")


BAD = [
    # (text, line, kind, entry, field, reason)
    ("sites:\n  - name: s\n", 2, "site", "s", None, "needs a sitemap"),
    ("sites:\n  - {name: s, sitemap: [], start: []}\n", 2, "site", "s", None, "nothing to read"),
    ("sites:\n  - {name: s, start: 'ftp://x/'}\n", 2, "site", "s", "start", "scheme"),
    (
        "sites:\n  - {name: s, start: 'https://x/', include: [nav]}\n",
        2,
        "site",
        "s",
        "include",
        "exclude_css",
    ),
    (
        "sites:\n  - {name: s, start: 'https://x/', exclude: [.feedback]}\n",
        2,
        "site",
        "s",
        "exclude",
        "not a URL pattern",
    ),
    (
        "sites:\n  - {name: s, start: 'https://x/', exclude_css: ['a[']}\n",
        2,
        "site",
        "s",
        "exclude_css",
        "bad CSS selector",
    ),
    (
        "sites:\n  - {name: s, start: 'https://x/', max_pages: 0}\n",
        2,
        "site",
        "s",
        "max_pages",
        "at least 1",
    ),
    (
        "sites:\n  - {name: s, start: 'https://x/', max_pages: 1000001}\n",
        2,
        "site",
        "s",
        "max_pages",
        "100000",
    ),
    (
        "sites:\n  - {name: s, start: 'https://x/', sitemaps: 'https://x/s.xml'}\n",
        2,
        "site",
        "s",
        "sitemaps",
        "did you mean 'sitemap'",
    ),
    ("sites:\n  - {name: S!, start: 'https://x/'}\n", 2, "site", "#1", "name", "bad name"),
    (
        "sites:\n  - {name: s, start: 'https://x/', every: 1h, cron: '0 * * * *'}\n",
        2,
        "site",
        "s",
        "cron",
        "either every or cron",
    ),
    (
        WATCHES + "sites:\n  - {name: face-zh, start: 'https://x/'}\n",
        5,
        "site",
        "face-zh",
        "name",
        "already used",
    ),
    (
        WATCHES + "counterparts:\n  - [face-zh, nope]\n",
        5,
        "counterparts",
        "#1",
        "watches",
        "no watch named 'nope'",
    ),
    (
        WATCHES + "counterparts:\n  - [face-zh]\n",
        5,
        "counterparts",
        "#1",
        None,
        "at least two watches",
    ),
    (
        WATCHES + "counterparts:\n  - [face-zh, face-zh]\n",
        5,
        "counterparts",
        "#1",
        "watches",
        "listed twice",
    ),
    (WATCHES + "counterparts:\n  - {sites: [a, b]}\n", 5, "counterparts", "#1", None, "need a map"),
    (
        WATCHES + "counterparts:\n  - {watches: [face-zh, face-en], map: {a: b}}\n",
        5,
        "counterparts",
        "#1",
        None,
        "remove it",
    ),
    (
        WATCHES + "counterparts:\n  - [face-zh, face-en]\n  - [face-zh, face-en]\n",
        6,
        "counterparts",
        "#2",
        "name",
        "named 'face-zh'",
    ),
    (
        WATCHES + "term_groups:\n  uyghur: []\n",
        5,
        "watch",
        None,
        "term_groups.uyghur",
        "at least 1",
    ),
    (
        WATCHES + "term_groups:\n  a: [维族]\n  b: [維族]\n",
        6,
        "watch",
        None,
        "term_groups.b",
        "already in group 'a'",
    ),
    ("defaults: {every: 1h}\n", 1, "watch", None, "watches", "or a 'sites:' list"),
]


@pytest.mark.parametrize(("text", "line", "kind", "entry", "field", "reason"), BAD)
def test_bad_site_entries_name_the_file_line_entry_and_field(
    text, line, kind, entry, field, reason
):
    with pytest.raises(WatchlistError) as caught:
        loads_watchlist(text, "w.yaml")
    error = caught.value
    assert (error.line, error.entry, error.field) == (line, entry, field), str(error)
    assert reason in error.reason, str(error)
    if entry is not None:
        assert error.kind == kind
        assert f"{kind} {entry!r}" in str(error)


def test_the_shipped_watchlist_watches_a_site_and_its_language_versions():
    from pathlib import Path

    from monitor.config.watchlist import load_watchlist

    shipped = load_watchlist(Path(__file__).parents[2] / "watchlists" / "face-and-moderation.yaml")
    sites = {s.name: s for s in shipped.sites}
    assert {"azure-face-docs-en", "azure-face-docs-zh"} <= set(sites)
    assert all(
        u.startswith("https://learn.microsoft.com/") for s in sites.values() for u in s.start
    )
    pairs = {c.name: c for c in shipped.counterparts}
    assert pairs["azure-face-docs"].url_map == ("/en-us/", "/zh-cn/")
    assert dict(pairs["faceplusplus-detect"].versions) == {
        "zh": "faceplusplus-detect-cn",
        "en": "faceplusplus-detect-en",
    }
    assert "uyghur" in dict(shipped.term_groups)
