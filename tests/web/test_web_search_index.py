"""The dashboard indexes what checks recorded: checks leave the search index to readers.

A data directory whose index is behind its captures (``monitor check`` from cron, then
``monitor serve``) is brought up to date by the server: in the background from the
start, and by each search request within a budget, the page saying what is not yet
searched.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import lxml.html
import pytest
from webdata import client, copy, make_demo

import monitor.web.app as web_app


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo(tmp_path_factory.mktemp("demo") / "data")


def unindexed(demo: Path, target: Path) -> Path:
    """A copy of the demo as ``monitor check`` leaves it: nothing indexed yet."""
    data = copy(demo, target)
    db = sqlite3.connect(data / "monitor.db", isolation_level=None)
    for table in ("search_spans", "search_watches", "search_blocks"):
        db.execute(f"DELETE FROM {table}")
    for fts in ("search_trigrams", "search_chars"):
        db.execute(f"INSERT INTO {fts} ({fts}) VALUES ('delete-all')")
    db.execute("UPDATE meta SET value = '0' WHERE key IN ('search_mark', 'search_from')")
    db.close()
    return data


def mark(data: Path) -> tuple[int, int]:
    db = sqlite3.connect(data / "monitor.db")
    try:
        (value,) = db.execute("SELECT value FROM meta WHERE key = 'search_mark'").fetchone()
        (latest,) = db.execute("SELECT MAX(id) FROM captures").fetchone()
    finally:
        db.close()
    return int(value), int(latest)


def test_a_search_request_indexes_first(demo: Path, tmp_path: Path) -> None:
    data = unindexed(demo, tmp_path / "data")
    web = client(data)  # no lifespan: no background indexer, only the request
    api = web.get("/api/search", params={"q": "维族"}).json()
    assert api[0]["present_now"] is False and api[0]["transitions"][-1]["change"] == 1
    page = lxml.html.fromstring(web.get("/search", params={"q": "維族"}).text)
    assert page.cssselect("article.hit") and not page.cssselect("p.warning")


def test_a_request_out_of_budget_says_what_is_not_searched(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = unindexed(demo, tmp_path / "data")
    monkeypatch.setattr(web_app, "CATCH_UP_SECONDS", 0.0)
    web = client(data)
    assert web.get("/api/search", params={"q": "维族"}).json() == []
    page = lxml.html.fromstring(web.get("/search", params={"q": "維族"}).text)
    (warning,) = page.cssselect("p.warning")
    assert "still being indexed" in warning.text_content()
    assert f"of {mark(data)[1]}" in warning.text_content()


def test_the_server_indexes_in_the_background(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = unindexed(demo, tmp_path / "data")
    monkeypatch.setattr(web_app, "CATCH_UP_SECONDS", 0.0)  # only the background thread
    with client(data):  # the lifespan starts the background indexer
        deadline = time.monotonic() + 20
        while mark(data)[0] < mark(data)[1] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mark(data)[0] == mark(data)[1]


def test_a_read_only_directory_says_its_index_ends_early(demo: Path, tmp_path: Path) -> None:
    data = unindexed(demo, tmp_path / "data")
    web = client(data)
    web.app.state.web.store.writable = False  # as opened on a read-only mount
    page = lxml.html.fromstring(web.get("/search", params={"q": "維族"}).text)
    (warning,) = page.cssselect("p.warning")
    assert "read-only" in warning.text_content() and "monitor search" in warning.text_content()
    assert mark(data)[0] == 0  # nothing was written
