"""Search across versions: what appeared and vanished when, matched as watched terms are."""

from __future__ import annotations

import random
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from history import (
    START,
    History,
    history_on_each_back_end,  # noqa: F401  (the fixture)
)

from monitor.errors import ConfigError
from monitor.model import Outcome
from monitor.search import open_index, search


def find(history: History, query: str, watch: str | None = None) -> list[dict[str, object]]:
    with open_index(history.store) as index:
        index.catch_up()
        return [hit.to_dict() for hit in search(index, query, watch=watch)]


def steps(hit: dict[str, object]) -> list[tuple[str, int]]:
    return [(t["event"], t["capture"]) for t in hit["transitions"]]  # type: ignore[attr-defined,index]


def test_appeared_vanished_and_came_back(history: History) -> None:
    first = history.capture("w", ["性别、年龄、是否是维族", "其他"])
    history.capture("w", ["性别、年龄、是否是维族", "其他"])  # same text: no transition
    gone = history.capture("w", ["性别、年龄", "其他"])
    back = history.capture("w", ["其他", "是否是维族（恢复）"])
    (hit,) = find(history, "是否是维族")
    assert steps(hit) == [("appeared", first), ("vanished", gone), ("appeared", back)]
    assert hit["present_now"] is True
    assert hit["first_capture"] == first and hit["last_capture"] == back
    vanished = hit["transitions"][1]  # type: ignore[index]
    assert vanished["change"] is not None and vanished["change_kind"] == "changed"
    assert hit["transitions"][0]["first_capture"] is True  # type: ignore[index]
    assert "是否是维族" in str(hit["snippet"])


def test_last_seen_is_the_last_capture_that_still_showed_it(history: History) -> None:
    history.capture("w", ["a 是否是维族"])
    still = history.capture("w", ["a 是否是维族"], outcome=Outcome.UNCHANGED)
    history.capture("w", None, outcome=Outcome.TRANSIENT)  # a failed fetch shows nothing
    gone = history.capture("w", ["a"])
    (hit,) = find(history, "维族")
    assert hit["last_capture"] == still and hit["present_now"] is False
    assert steps(hit)[-1] == ("vanished", gone)


def test_wording_that_moves_to_another_paragraph_never_vanished(history: History) -> None:
    history.capture("w", ["first paragraph mentions Uyghur", "second"])
    history.capture("w", ["first paragraph", "second now mentions Uyghur"])
    (hit,) = find(history, "uyghur")
    assert [t[0] for t in steps(hit)] == ["appeared"] and hit["present_now"] is True


def test_a_page_that_lost_its_selector_has_not_removed_anything(history: History) -> None:
    history.capture("w", ["是否是维族"])
    history.capture("w", ["请登录"], outcome=Outcome.SELECTOR_MISSING)
    (hit,) = find(history, "是否是维族")
    assert hit["present_now"] is True and len(steps(hit)) == 1


# (page text, query, found): folded as watched terms are.
MATCHING = [
    ("是否是維族", "是否是维族", True),  # traditional page, simplified query
    ("是否是维族", "是否是維族", True),  # and the other way
    ("ＵＹＧＨＵＲ people", "uyghur", True),  # full width, case
    ("Uyghur", "UYGHUR", True),
    ("支持:API(123)", "ＡＰＩ（１２３）", True),
    ("trace amounts", "race", False),  # a Latin term must start a word
    ("races and racial", "race", True),  # but may end inside one
    ("维族", "维族", True),  # two Chinese characters (the per-character table)
    ("民族", "族", True),  # one
    ("民族", "维族", False),
    ("AI models", "ai", True),  # a short word start
    ("MAIL", "ai", False),
    ("50% off", "%", True),  # neither: a scan
    ("éa", "é", True),
    ("她说：“不”", "“不”", True),
    ('say "hi" AND NEAR(x) OR *', '"hi" AND NEAR(x) OR *', True),  # FTS syntax is literal
]


@pytest.mark.parametrize(("text", "query", "found"), MATCHING)
def test_matching_follows_the_watched_term_rules(
    history: History, text: str, query: str, found: bool
) -> None:
    history.capture("w", ["something else", text])
    assert bool(find(history, query)) is found


@pytest.mark.parametrize("query", ["", "   ", "\u3000"])
def test_an_empty_query_is_refused(history: History, query: str) -> None:
    with pytest.raises(ConfigError, match="empty"):
        find(history, query)


def test_per_watch_results_and_the_watch_filter(history: History) -> None:
    history.capture("a", ["是否是维族"])
    history.capture("b", ["是否是维族"])
    history.capture("b", ["无"])
    history.capture("c", ["无关"])
    assert sorted(h["watch"] for h in find(history, "维族")) == ["a", "b"]  # type: ignore[type-var]
    (only,) = find(history, "维族", watch="b")
    assert only["present_now"] is False


def test_catch_up_is_incremental_and_idempotent(history: History) -> None:
    history.capture("w", ["one"])
    with open_index(history.store) as index:
        assert index.catch_up() == 1 and index.catch_up() == 0
        history.capture("w", ["one two"])
        history.capture("w", None, outcome=Outcome.TRANSIENT)
        assert index.catch_up() == 1
        coverage = index.coverage()
        assert coverage.complete and coverage.mark == coverage.latest


def test_two_indexers_at_once_index_each_version_once(history: History) -> None:
    for i in range(30):
        history.capture("w", [f"version {i}", "common"])
    with open_index(history.store) as one, open_index(history.store) as two:
        done = one.catch_up(budget_seconds=0.0) + two.catch_up() + one.catch_up()
        assert done == 30
        spans = one.db.execute("SELECT COUNT(*) FROM search_spans").fetchone()[0]
    assert spans == 31  # "common" once, each version's own block once


def test_catch_ups_in_parallel_threads_index_each_version_once(history: History) -> None:
    # Truly at once (SQLite: BEGIN IMMEDIATE; PostgreSQL: the advisory lock and the mark).
    for i in range(40):
        history.capture(f"w{i % 3}", [f"version {i}", "common 维族"])
    indexes = [open_index(history.store) for _ in range(3)]
    try:
        with ThreadPoolExecutor(3) as pool:
            done = sum(pool.map(lambda index: index.catch_up(), indexes))
        assert done == 40
        spans = indexes[0].db.execute("SELECT COUNT(*) FROM search_spans").fetchone()[0]
        assert spans == 43  # "common 维族" once per watch, each version's own block once
        assert sorted(h.watch for h in search(indexes[0], "维族")) == ["w0", "w1", "w2"]
    finally:
        for index in indexes:
            index.close()


def test_an_older_capture_recorded_late_is_put_in_its_place(history: History) -> None:
    history.capture("w", ["b 维族"], at=START + timedelta(days=2))
    history.capture("w", ["c"], at=START + timedelta(days=3))
    find(history, "维族")  # index what there is
    archived = history.capture("w", ["a"], at=START)  # imported from an archive later
    (hit,) = find(history, "维族")
    assert [t[0] for t in steps(hit)] == ["appeared", "vanished"]
    assert hit["transitions"][0]["first_capture"] is False  # type: ignore[index]
    assert archived not in [t[1] for t in steps(hit)]


def test_rebuild_gives_what_incremental_indexing_gave(history: History) -> None:
    rng = random.Random(7)
    words = ["维族", "民族", "Uyghur", "face", "是否", "年龄"]
    for _ in range(60):
        watch = rng.choice("abc")
        if rng.random() < 0.15:
            history.capture(watch, None, outcome=Outcome.TRANSIENT)
        else:
            history.capture(watch, [" ".join(rng.sample(words, 3)) for _ in range(2)])
    queries = ["维族", "族", "uyghur", "face 是否", "年龄"]
    before = [find(history, q) for q in queries]
    with open_index(history.store) as index:
        index.rebuild()
    assert [find(history, q) for q in queries] == before


def test_a_data_directory_from_before_search_is_indexed_by_rebuild(tmp_path: Path) -> None:
    history = History(tmp_path / "old")
    history.capture("w", ["是否是维族"])
    history.capture("w", ["无"])
    history.close()
    # Make it look like a data directory recorded before the search migration.
    db = sqlite3.connect(tmp_path / "old" / "monitor.db")
    for table in ("search_spans", "search_watches", "search_blocks"):
        db.execute(f"DELETE FROM {table}")
    db.execute("UPDATE meta SET value = '2' WHERE key IN ('search_from', 'search_mark')")
    db.commit()
    db.close()
    history = History(tmp_path / "old")
    try:
        assert find(history, "维族") == []
        with open_index(history.store) as index:
            assert not index.coverage().complete and index.coverage().unindexed_before == 2
            assert index.rebuild() == 2
            assert index.coverage().complete
        (hit,) = find(history, "维族")
        assert hit["present_now"] is False
    finally:
        history.close()


def test_an_unreadable_text_blob_does_not_stop_indexing(history: History) -> None:
    history.capture("w", ["是否是维族"])
    broken = history.capture("w", ["lost"])
    history.capture("w", ["是否是维族 again"])
    row = history.store.capture(broken)
    history.store.blobs.path(row["text_sha256"]).unlink()
    (hit,) = find(history, "是否是维族")
    assert hit["present_now"] is True


def test_catch_up_reads_no_text_a_watch_already_shows(history: History) -> None:
    # Interleaved watches (as a run records them): each new version is either the text
    # the watch shows (unchanged: nothing to read) or a new one (read once).
    for round_number in range(3):
        for watch in ("a", "b", "c"):
            text = "v2 维族" if round_number == 2 and watch == "b" else "v1 维族"
            history.capture(watch, [f"{watch} {text}"], outcome=Outcome.UNCHANGED)
    with open_index(history.store) as index:
        reads: list[str] = []
        load = index._load_text
        index._load_text = lambda sha: (reads.append(sha), load(sha))[1]  # type: ignore[method-assign]
        index.catch_up()
        assert len(reads) == 4  # a, b, c first, then b's new text: not once per capture
        assert [h.watch for h in search(index, "v2")] == ["b"]
