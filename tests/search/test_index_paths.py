"""Every way of building the index finds the same thing, and what a plain scan finds.

The index is built three ways on the same captures: one catch-up after each capture
(version by version), one catch-up of everything at once (the bulk path a first
``monitor search`` after a large first capture takes), and ``rebuild``. A table of
queries that exercises each way of finding candidates (one and two Han characters,
trigrams, traditional vs simplified, full width, Latin word starts and prefixes, pure
ASCII blocks, which have no trigrams, punctuation, other scripts) must give identical
hits all three ways, and the watches a brute-force scan of every version finds.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

from history import (
    History,
    history_on_each_back_end,  # noqa: F401  (the fixture)
)

from monitor.analysis.flag import occurs
from monitor.documents.textnorm import fold
from monitor.model import Outcome
from monitor.search import SearchIndex, open_index, search
from monitor.search.blocks import needs_trigrams

# Block texts: ASCII blocks and non-ASCII ones holding the same words in awkward places.
FRAGMENTS = [
    "AI models and the API",
    "MAIL server",
    "trace amounts",
    "races and racial",
    "face detection results",
    "Face Detection API v2.",
    "data_api returns (123) items",
    "x-abcdef and foo.com",
    "1.5x faster, 50% off",
    "hello...world",
    "a.b.c",
    "Uyghur",
    "the Uyghurs' rights",
    "éapi and café API",
    "naïve approach",
    "接口api返回",
    "人脸识别 face detection",
    "是否是维族",
    "是否是維族（繁體）",
    "民族、种族",
    "维族",
    "ＡＰＩ（１２３）、ＵＹＧＨＵＲ",
    "уйгур Uyghur",
    "V2 版本 api",
    "年龄 age, 性别 gender",
    "plain english paragraph with nothing special",
    "한국api 서비스",  # letters that glue onto a word: the block keeps its trigrams
    "بuyghur text",
    "日々api更新",
    "①②③ face",
    "emoji 😀api",
    "、、、 and ・・・ 〜〜〜",
    "price×api ×3",
    "«quoted» “api” — ok",
    "ϊ test",
]

QUERIES = [
    "族",  # one Han character
    "脸",
    "维族",  # two (the per-character table)
    "維族",  # traditional
    "民族",
    "是否是维族",  # three or more (trigrams)
    "是否是維族",
    "人脸识别 face",  # mixed
    "api接口",
    "接口api",
    "ＡＰＩ",  # full width
    "ＵＹＧＨＵＲ",
    "AI",  # short Latin word starts (prefix queries)
    "a",
    "ap",
    "Uyg",  # three or more Latin characters: ASCII blocks by their words
    "uyghur",
    "uyghurs'",
    "api",
    "API v2",
    "face detec",
    "detection",
    "race",  # must start a word: not "trace"
    "ail",
    "abc",
    "-abc",  # starts with punctuation: may start inside a word's neighbour
    ".com",
    "(123)",
    "123",
    "1.5",
    "50% off",
    "...",  # punctuation only: a scan
    "%",
    "a.b",
    "café",  # other Latin letters, other scripts
    "é",
    "naïve",
    "уйгур",
    "한국",
    "국api",
    "api 서",
    "api更新",
    "々api",
    "😀api",
    "×api",
    "“api”",
    "«quoted",
    "— ok",
    "、、、",  # no word at all: a scan
    "・・・",
    "〜〜",
    "更新 ϊ",
    "absent words",
]


def record(history: History, index: SearchIndex | None) -> dict[str, list[list[str]]]:
    """Random versions of a few watches (catching up after each when ``index`` is
    given); returns the text versions each watch showed, in order."""
    rng = random.Random(11)
    shown: dict[str, list[list[str]]] = {}
    watches = ["a", "b", "c", "d"]
    for step in range(40):
        watch = rng.choice(watches)
        roll = rng.random()
        if roll < 0.1:
            history.capture(watch, None, outcome=Outcome.TRANSIENT)
        elif roll < 0.2 and watch in shown:
            history.capture(watch, shown[watch][-1], outcome=Outcome.UNCHANGED)
        else:
            blocks = [f"{f} {step}" if rng.random() < 0.2 else f for f in rng.sample(FRAGMENTS, 5)]
            history.capture(watch, blocks)
            shown.setdefault(watch, []).append(blocks)
        if index is not None:
            index.catch_up()
    # One long version: more distinct blocks than one key lookup takes (storing.py).
    many = [f"block {n} of a long page, 维族 {n}" for n in range(1200)] + FRAGMENTS
    history.capture("long", many)
    shown["long"] = [many]
    if index is not None:
        index.catch_up()
    return shown


def hits(index: SearchIndex) -> dict[str, list[dict[str, Any]]]:
    return {query: [hit.to_dict() for hit in search(index, query)] for query in QUERIES}


def scanned(shown: dict[str, list[list[str]]], query: str) -> dict[str, bool]:
    """Brute force: watch -> whether its latest version has it, for every watch that
    ever showed the query by the watched-term rule."""
    term = fold(query.strip())
    found = {}
    for watch, versions in shown.items():
        has = [any(occurs(fold(block), term) for block in v) for v in versions]
        if any(has):
            found[watch] = has[-1]
    return found


def wipe(index: SearchIndex) -> None:
    """An empty index with its mark before every capture: the next catch-up does all."""
    db = index.db
    db.execute("BEGIN IMMEDIATE")
    for table in ("search_spans", "search_watches", "search_blocks"):
        db.execute(f"DELETE FROM {table}")
    for fts in ("search_trigrams", "search_chars") if index.fts else ():
        db.execute(f"INSERT INTO {fts} ({fts}) VALUES ('delete-all')")
    db.execute("UPDATE meta SET value = '0' WHERE key IN ('search_mark', 'search_from')")
    db.execute("COMMIT")


def test_one_catch_up_one_by_one_and_rebuild_find_the_same(history: History) -> None:
    with open_index(history.store) as index:
        shown = record(history, index)
        one_by_one = hits(index)
        wipe(index)
        assert index.catch_up() > 0
        at_once = hits(index)
        index.rebuild()
        rebuilt = hits(index)
    for query in QUERIES:
        assert at_once[query] == one_by_one[query], query
        assert rebuilt[query] == one_by_one[query], query
        found = {hit["watch"]: hit["present_now"] for hit in at_once[query]}
        assert found == scanned(shown, query), query


def test_an_index_with_trigrams_of_every_block_answers_the_same(tmp_path: Path) -> None:
    # Indexes built before plain blocks lost their trigrams keep them: harmless.
    history = History(tmp_path / "data")
    try:
        with open_index(history.store) as index:
            record(history, index)
            before = hits(index)
        db = sqlite3.connect(tmp_path / "data" / "monitor.db")
        plain = [
            (block, folded)
            for block, folded in db.execute("SELECT id, folded FROM search_blocks")
            if not needs_trigrams(folded)
        ]
        assert plain
        with db:
            db.executemany("INSERT INTO search_trigrams (rowid, folded) VALUES (?, ?)", plain)
        db.close()
        with open_index(history.store) as index:
            assert hits(index) == before
    finally:
        history.close()


def test_block_ids_taken_in_bulk_leave_room_for_the_next(history: History) -> None:
    # Ids are allocated up front (storing.py); on PostgreSQL the identity sequence must
    # follow, or a row inserted with the default id would collide.
    with open_index(history.store) as index:
        record(history, index)
        (last,) = index.db.execute("SELECT MAX(id) FROM search_blocks").fetchone()
        index.db.execute(
            "INSERT INTO search_blocks (key, text, folded) VALUES (?, 'x', 'x')", (b"k" * 16,)
        )
        (added,) = index.db.execute("SELECT MAX(id) FROM search_blocks").fetchone()
        assert added == last + 1


def test_plain_characters_are_word_letters_han_or_separators() -> None:
    # What lets plain blocks do without trigrams (candidates._by_words): every plain
    # character that unicode61 makes part of a token is Han/kana (a token of its own)
    # or a letter that starts a word for the watched-term rule (analysis/flag.py).
    import unicodedata

    from monitor.analysis.flag import _WORD_CHAR
    from monitor.search.blocks import char_tokens

    for code in range(0x10000):
        char = chr(code)
        maybe_token = unicodedata.category(char)[0] in "LNM" or unicodedata.category(char) == "Co"
        if needs_trigrams(char) or not maybe_token or char.casefold() != char:
            continue  # (folded text has no capitals)
        assert _WORD_CHAR.match(char) or char_tokens(char) != char, hex(code)
