"""``monitor search`` end to end: what checks recorded is searchable at once.

Checks leave indexing to the readers (``monitor search``, ``serve``, ``run``): the first
search indexes what the checks recorded since the last one.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from conftest import FAST_SETTINGS, write_watchlist

from monitor.check import run_checks
from monitor.config.watchlist import load_watchlist
from monitor.fetch.http import FetchPolicy
from monitor.search import open_index, search
from monitor.search.background import BackgroundIndexer
from monitor.store import Store

PAGE = "<main><h1>人脸属性</h1><p>支持识别：是否戴眼镜{extra}。</p><p>{stamp}</p></main>"


def watchlist(tmp_path: Path, site) -> Path:  # type: ignore[no-untyped-def]
    return write_watchlist(
        tmp_path / "w.yaml",
        f"""
defaults:
  terms: [维族]
watches:
  - name: face
    url: {site.url("/face")}
{FAST_SETTINGS}""",
    )


def test_a_check_makes_its_versions_searchable(tmp_path: Path, site, cli) -> None:
    path = watchlist(tmp_path, site)
    site.set("/face", PAGE.format(extra="、是否是維族", stamp="v1"))
    assert cli("check", "--watchlist", str(path)).code == 0
    site.set("/face", PAGE.format(extra="", stamp="v2"))
    assert cli("check", "--watchlist", str(path)).code == 0

    found = cli("search", "是否是维族", "--format", "json")
    assert found.code == 0, found.err
    (hit,) = found.json()  # type: ignore[misc]
    assert hit["watch"] == "face" and hit["present_now"] is False
    assert [t["event"] for t in hit["transitions"]] == ["appeared", "vanished"]
    vanished = hit["transitions"][1]
    assert vanished["change"] == 1 and vanished["change_kind"] == "changed"
    assert set(hit) >= {"first_seen", "last_seen", "snippet", "url", "first_capture"}

    text = cli("search", "維族")
    assert text.code == 0
    assert "NOT present now" in text.out and "monitor diff 1" in text.out
    assert "【維族】" in text.out  # the page's own characters, marked

    none = cli("search", "ethnicity")
    assert none.code == 0 and "was not found" in none.out


def _mark(data_dir: Path) -> tuple[int, int]:
    with Store(data_dir) as store, open_index(store) as index:
        coverage = index.coverage()
        return coverage.mark, coverage.latest


def test_checks_leave_indexing_to_the_first_search(tmp_path: Path, site, cli, monkeypatch) -> None:
    path = watchlist(tmp_path, site)
    site.set("/face", PAGE.format(extra="、是否是维族", stamp="v1"))
    assert cli("check", "--watchlist", str(path)).code == 0
    mark, latest = _mark(cli.data_dir)
    assert mark < latest  # nothing indexed by the check itself

    # A catch-up longer than a second says so on stderr (here: every catch-up).
    import monitor.search.index as index_module

    original, calls = index_module.SearchIndex.catch_up, []

    def slow_start(self: index_module.SearchIndex, budget_seconds: float | None = None) -> int:
        calls.append(budget_seconds)  # the first second passes with nothing indexed
        return 0 if len(calls) == 1 else original(self, budget_seconds)

    monkeypatch.setattr(index_module.SearchIndex, "catch_up", slow_start)
    found = cli("search", "维族", "--format", "json")
    assert found.code == 0, found.err
    assert found.json()[0]["present_now"] is True  # type: ignore[index]
    assert "indexing new captures" in found.err and "1 text version(s) indexed" in found.err
    assert _mark(cli.data_dir)[0] == latest


def test_usage_errors(tmp_path: Path, cli) -> None:
    missing = cli("search", "x")
    assert missing.code == 2 and "no monitor data" in missing.err
    Store(cli.data_dir).close()  # an empty data directory
    assert cli("search").code == 2
    unknown = cli("search", "x", "--watch", "nope")
    assert unknown.code == 2 and "no watch named 'nope'" in unknown.err
    empty = cli("search", "  ")
    assert empty.code == 2 and "empty" in empty.err


def test_rebuild_reports_what_it_indexed(tmp_path: Path, site, cli) -> None:
    path = watchlist(tmp_path, site)
    site.set("/face", PAGE.format(extra="、是否是维族", stamp="v1"))
    cli("check", "--watchlist", str(path))
    rebuilt = cli("search", "--rebuild")
    assert rebuilt.code == 0 and "1 text version(s)" in rebuilt.err
    assert cli("search", "维族", "--format", "json").json()[0]["present_now"] is True  # type: ignore[index]


def test_the_background_indexer_of_monitor_run(tmp_path: Path, site, cli) -> None:
    path = watchlist(tmp_path, site)
    site.set("/face", PAGE.format(extra="、是否是维族", stamp="v1"))
    with Store(cli.data_dir) as store, BackgroundIndexer(store, idle_seconds=0.05) as indexer:
        # Record through the real pipeline but without check_once's own catch-up.
        watches = load_watchlist(path)
        asyncio.run(run_checks(store, watches, watches.watches, FetchPolicy(host_delay=0)))
        indexer.poke()
        with open_index(store) as index:
            deadline = time.monotonic() + 10
            while not search(index, "维族") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert search(index, "维族")



def test_a_writable_store_behind_its_captures_is_searched_in_place(
    tmp_path: Path, site, cli, monkeypatch
) -> None:
    """Captures recorded while a search catches up (a 'monitor run' writing) wait for
    the next search: no private copy, no read-only note."""
    path = watchlist(tmp_path, site)
    site.set("/face", PAGE.format(extra="、是否是维族", stamp="v1"))
    assert cli("check", "--watchlist", str(path)).code == 0
    import monitor.search.index as index_module

    monkeypatch.setattr(index_module.SearchIndex, "catch_up", lambda self, budget_seconds=None: 0)
    found = cli("search", "维族", "--format", "json")
    assert found.code == 0, found.err
    assert found.json() == [] and "read-only" not in found.err
