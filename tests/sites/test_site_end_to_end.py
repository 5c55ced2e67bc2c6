"""Sites and locales end to end, on a local documentation site: discovery through
robots.txt, a sitemap index with gzip child sitemaps and a table of contents; pages
added, delisted, deleted (404) and renamed (301); a term group the Chinese version has
and the English lacks. The exact events of every run are asserted."""

from __future__ import annotations

from pathlib import Path

import pytest
from backends import store_spec
from docsite import EN_ATTRIBUTES, WATCHLIST, Docs, DocSite, en_attributes, page, serve

from monitor.config.watchlist import loads_watchlist
from monitor.run.once import check_watchlist
from monitor.store import StoreSpec, open_store

__all__ = ["store_spec"]  # a fixture, used by name


@pytest.fixture
def docs():
    with serve(DocSite()) as site:
        yield Docs(site)


def _run(docs: Docs, data: Path | StoreSpec):
    watchlist = loads_watchlist(WATCHLIST.format(base=docs.site.base), "sites.yaml")
    report = check_watchlist(
        data if isinstance(data, StoreSpec) else str(data), watchlist, workers=1
    )
    with open_store(data) as store:
        events = [(row["kind"], row["watch"]) for row in store.changes() if row["id"] > _run.seen]
        _run.seen = max([_run.seen, *(row["id"] for row in store.changes())])
    return report, events


_run.seen = 0


def test_pages_added_removed_gone_renamed_and_a_locale_gap(docs: Docs, store_spec: StoreSpec):
    """On each back end: a data directory, and PostgreSQL (tests/backends.py)."""
    _run.seen = 0
    data = store_spec

    # Run 1: the baseline. Every listed page becomes a watch without an event; the
    # Chinese attribute page mentions the uyghur group, the English one does not.
    report, events = _run(docs, data)
    assert events == [("locale_gap", "docs-zh.zh-face-attributes-html")]
    zh, en = report.discoveries
    # detect, attributes, verify, old, legacy, compare (in the table of contents only)
    # and the table of contents itself, which links to itself.
    assert (zh.complete, zh.baseline, zh.pages, zh.listed) == (True, True, 7, 7)
    assert (en.complete, en.baseline, en.pages) == (True, True, 7)
    assert zh.summary["disallowed"] == 1  # /zh/private/ (robots.txt)
    assert "/zh/private/internal.html" not in docs.site.paths_requested()
    assert len(report.results) == 14

    # Between runs: a page is added, one deleted (404), one renamed (301), one delisted
    # while still served.
    docs.add("zh", "/zh/face/attributes-v2.html", page("zh", "人脸属性识别 v2", "<p>新版</p>"))
    docs.delist("zh", "/zh/face/old.html")
    docs.site.remove("/zh/face/old.html")
    docs.rename("zh", "/zh/face/verify.html", "/zh/face/verification.html")
    docs.delist("zh", "/zh/face/legacy.html")

    report, events = _run(docs, data)
    assert events == [
        ("moved", "docs-zh.zh-face-verify-html"),  # the rename: one event, not two
        ("page_added", "docs-zh.zh-face-attributes-v2-html"),
        ("changed", "docs-zh.zh-toc-html"),  # the table of contents' own wording
    ]
    zh = report.discoveries[0]
    assert (zh.complete, zh.baseline) == (True, False)
    assert zh.summary["missing"] == 2  # old (404 once) and legacy: awaiting confirmation
    assert [w.url for w in zh.renamed] == [docs.site.base + "/zh/face/verification.html"]

    # The English page now lists the attribute too: the gap closes.
    docs.site.set(
        "/en/face/attributes.html", en_attributes([*EN_ATTRIBUTES, ("uygur", "Integer", "Uyghur")])
    )
    report, events = _run(docs, data)
    assert events == [
        ("gone", "docs-zh.zh-face-old-html"),
        ("page_removed", "docs-zh.zh-face-legacy-html"),
        ("changed", "docs-en.en-face-attributes-html"),
        ("locale_gap", "docs-en.en-face-attributes-html"),
    ]
    assert report.discoveries[0].pages == 6  # toc, detect, attributes, verification, compare, v2

    # A quiet run: nothing.
    report, events = _run(docs, data)
    assert events == []


def test_event_json_names_the_site_and_the_group(docs: Docs, tmp_path: Path):
    _run.seen = 0
    data = tmp_path / "data"
    _run(docs, data)
    docs.add("zh", "/zh/face/new.html", page("zh", "新接口", "<p>新</p>"))
    _run(docs, data)
    from monitor.report.json import change_to_json

    with open_store(data) as store:
        rows = [change_to_json(r) for r in store.changes()]
    gap = next(r for r in rows if r["kind"] == "locale_gap")
    assert gap["locale_gap"] == {
        "counterparts": "docs-zh-en",
        "pair": docs.site.base + "/zh/face/attributes.html",
        "state": "open",
        "group": "uyghur",
        "present_in": ["docs-zh.zh-face-attributes-html"],
        "absent_in": ["docs-en.en-face-attributes-html"],
        "locales": {
            "docs-zh.zh-face-attributes-html": "zh",
            "docs-en.en-face-attributes-html": "en",
        },
        "terms": {"docs-zh.zh-face-attributes-html": {"维族": 2, "Uygur": 1}},
    }
    added = next(r for r in rows if r["kind"] == "page_added")
    assert added["site"] == "docs-zh"
    assert added["url"] == docs.site.base + "/zh/face/new.html"
    assert added["to_snapshot"]  # the sitemap that lists it, kept as evidence


def test_a_page_the_watchlist_already_watches_is_that_watch_not_a_second_one(
    docs: Docs, tmp_path: Path
):
    _run.seen = 0
    data = tmp_path / "data"
    own = f"""\
watches:
  - name: legacy-notes
    url: {docs.site.base}/zh/face/legacy.html
    select: h1
"""
    text = own + WATCHLIST.format(base=docs.site.base)
    watchlist = loads_watchlist(text, "sites.yaml")
    check_watchlist(str(data), watchlist, workers=1)
    with open_store(data) as store:
        pages = {p.url: p.watch for p in store.sites().pages("docs-zh")}
        assert pages[docs.site.base + "/zh/face/legacy.html"] == "legacy-notes"
        assert "docs-zh.zh-face-legacy-html" not in store.sites().taken_names()
    docs.delist("zh", "/zh/face/legacy.html")
    for _ in range(2):
        report = check_watchlist(str(data), watchlist, workers=1)
    with open_store(data) as store:
        kinds = [(r["kind"], r["watch"]) for r in store.changes() if r["watch"] == "legacy-notes"]
        assert kinds == [("page_removed", "legacy-notes")]  # checked with its own rules
    assert [r.watch for r in report.results].count("legacy-notes") == 1
