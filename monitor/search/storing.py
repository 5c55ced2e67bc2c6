"""Storing a version's blocks in the index: looked up and inserted in bulk.

A first capture brings hundreds of new blocks per page. One SELECT and three INSERTs
per block (the first design) spent most of a catch-up in per-statement overhead; here
a version's blocks are looked up a few hundred keys per statement, and the new ones get
their ids up front (``MAX(id) + 1`` on: every writer of the index holds its write lock,
SQLite's or PostgreSQL's advisory lock) so that ``search_blocks`` and both FTS5 tables
are filled with one ``executemany`` each.

Only blocks with a character that ``blocks.needs_trigrams`` does not know get trigrams:
tokenising trigrams is most of what indexing costs (Chinese above all: nearly every
trigram of Chinese text is a term of its own), and the words of the other blocks in
``search_chars`` find them as surely (candidates.py says why).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..documents.textnorm import fold
from .blocks import char_tokens, needs_trigrams

_KEYS_PER_LOOKUP = 500  # well under SQLite's and PostgreSQL's limits on parameters


def block_ids(db: Any, blocks: Sequence[tuple[bytes, str]], fts: bool) -> list[int]:
    """The ids of blocks given as distinct (key, text), in order; new ones stored first.

    Only new blocks are folded. ``fts``: fill the SQLite FTS5 tables too (PostgreSQL's
    trigram index follows ``search_blocks`` by itself).
    """
    known: dict[bytes, int] = {}
    for start in range(0, len(blocks), _KEYS_PER_LOOKUP):
        keys = [key for key, _ in blocks[start : start + _KEYS_PER_LOOKUP]]
        rows = db.execute(
            f"SELECT key, id FROM search_blocks WHERE key IN ({', '.join('?' * len(keys))})",
            keys,
        )
        known.update(rows)  # (key, id): bytes and int from either database
    new = [(key, text) for key, text in blocks if key not in known]
    if new:
        _store(db, new, known, fts)
    return [known[key] for key, _ in blocks]


def _store(
    db: Any, new: list[tuple[bytes, str]], known: dict[bytes, int], fts: bool
) -> None:
    """Insert new blocks with ids of their own (inside the caller's write transaction)."""
    first = int(db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM search_blocks").fetchone()[0])
    rows = [(first + n, key, text, fold(text)) for n, (key, text) in enumerate(new)]
    db.executemany("INSERT INTO search_blocks (id, key, text, folded) VALUES (?, ?, ?, ?)", rows)
    known.update((key, block) for block, key, _, _ in rows)
    if not fts:  # PostgreSQL: its identity sequence goes past the ids taken here
        last = rows[-1][0]
        db.execute("SELECT setval(pg_get_serial_sequence('search_blocks', 'id'), ?)", (last,))
        return
    db.executemany(  # the other blocks are found by their words (candidates.py)
        "INSERT INTO search_trigrams (rowid, folded) VALUES (?, ?)",
        [(block, folded) for block, _, _, folded in rows if needs_trigrams(folded)],
    )
    db.executemany(
        "INSERT INTO search_chars (rowid, chars) VALUES (?, ?)",
        [(block, char_tokens(folded)) for block, _, _, folded in rows],
    )
