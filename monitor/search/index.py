"""Keeping the full-text index of every extracted text version up to date.

The index lives in the store's SQLite database (tables made by migration 7 in
``store/migrations.py``), or in a PostgreSQL store's database (the same tables, with a
pg_trgm index instead of FTS5: ``postgres.py``), and is derived data: ``monitor search
--rebuild`` remakes it from the captures and their text blobs at any time, and nothing
in it is evidence.

What is indexed is *blocks* (paragraphs, list items, table rows...), not whole pages:
consecutive versions of a page share almost all their blocks, so each distinct block
is stored and tokenised once (``search_blocks`` and two FTS5 tables over it), and a
page's history is a set of *spans*: block B was in watch W's text from capture C1 until
capture C2 (or still is). A new version costs only its changed blocks, and a search
reads where and when its wording appeared or vanished straight from the spans.

Blocks are matched on ``textnorm.fold`` (NFKC, case-folded, traditional Chinese folded
to simplified), as watched terms are. Two FTS5 tables serve two query lengths:

* ``search_trigrams`` (trigram tokenizer) finds any substring of three characters or
  more, in any script, Chinese without spaces included, in the blocks that have a
  character outside the plain ones (``blocks.needs_trigrams``: ASCII, Latin, Greek and
  Cyrillic letters, Han, kana, common punctuation). Trigrams of every block would be
  most of what indexing costs;
* ``search_chars`` (unicode61, every Han/kana character its own token, contentless)
  finds one- and two-character Chinese/Japanese terms (维族, 族), short word prefixes
  (AI), which trigrams cannot, and the plain blocks that hold a longer term, by the
  phrase of its tokens (``candidates.py``); terms without a token fall back to a scan.

Indexing runs beside checking, never inside a check's transaction: a capture is
recorded whatever happens here. :meth:`SearchIndex.catch_up` indexes the text captures
recorded since its mark (``meta.search_mark``), in transactions of at most 0.1 s: the
readers do (``monitor search`` and ``serve`` before they answer, ``run`` and ``serve``
in a background thread); ``monitor check`` does not (a search may never come).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import StoreError
from .blocks import TEXT_OUTCOMES, Coverage, Version, block_key, block_texts
from .storing import block_ids

log = logging.getLogger(__name__)

_BATCH = 200  # captures read per round of catch-up
_TRANSACTION_SECONDS = 0.1  # the longest a catch-up holds the write lock
_CACHED_TEXTS = 64  # split texts kept between batches (see _blocks_of)


class SearchIndex:
    """The full-text index of one SQLite data directory, on a connection of its own.

    ``load_text(text_sha256) -> bytes`` reads a text blob (``store.get_blob``). Use one
    instance per thread; SQLite serialises the writers of several processes.
    """

    def __init__(self, database: str | Path | Any, load_text: Callable[[str], bytes]) -> None:
        """``database``: a SQLite file (or URI), or a connection that speaks its SQL
        (``postgres.PostgresSearchConnection``: then ``fts`` is False, see query.py)."""
        self._load_text = load_text
        self._blocks: OrderedDict[str, list[tuple[bytes, str]]] = OrderedDict()
        self.fts = isinstance(database, (str, Path))  # FTS5 tables (SQLite only)
        self._db: Any = database  # sqlite3.Connection once connected below
        if not self.fts:
            return
        try:
            uri = str(database).startswith("file:")  # a read-only store's URI (mode=ro)
            self._db = sqlite3.connect(
                database, isolation_level=None, timeout=30, check_same_thread=False, uri=uri
            )
            if not uri:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master")}
        except sqlite3.Error as error:
            raise StoreError(f"cannot open the search index in {database}: {error}") from error
        if "search_blocks" not in tables:
            raise StoreError(
                f"{database} has no search index tables; open it with this version of "
                "monitor once (any command) to bring its schema up to date"
            )

    @property
    def db(self) -> Any:  # for queries (query.py)
        return self._db

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- coverage -------------------------------------------------------------------

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def coverage(self) -> Coverage:
        indexed_from = self._meta("search_from")
        unindexed = 0
        if indexed_from:
            unindexed = self._db.execute(
                "SELECT COUNT(*) FROM captures WHERE id <= ? AND text_sha256 IS NOT NULL "
                f"AND outcome IN ({_placeholders(TEXT_OUTCOMES)})",
                (indexed_from, *TEXT_OUTCOMES),
            ).fetchone()[0]
        latest = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM captures").fetchone()[0]
        return Coverage(indexed_from, self._meta("search_mark"), latest, unindexed)

    # -- incremental ----------------------------------------------------------------

    def catch_up(self, budget_seconds: float | None = None) -> int:
        """Index the text captures recorded since the mark; returns how many were read.

        With a budget, stops after about that many seconds (the rest waits for the next
        call). Safe to run in several processes at once: every transaction re-reads the
        mark first, and applies nothing another process already applied.
        """
        started, done = time.monotonic(), 0
        while budget_seconds is None or time.monotonic() - started < budget_seconds:
            mark, versions, latest = self._pending()
            if not versions:
                if latest > mark:
                    self._advance(mark, latest)
                return done
            position = 0
            while position < len(versions):
                if budget_seconds is not None and time.monotonic() - started >= budget_seconds:
                    return done
                applied = self._apply_batch(versions[position:])
                if not applied:
                    break  # another process moved the mark: read again
                position += applied
                done += applied
            else:
                if len(versions) < _BATCH and latest > versions[-1].capture:
                    self._advance(versions[-1].capture, latest)
        return done

    def _pending(self) -> tuple[int, list[Version], int]:
        """The mark, the next text captures after it and the latest capture id, read
        in one snapshot (so that no text capture up to ``latest`` is missed)."""
        self._db.execute("BEGIN")
        try:
            mark = self._meta("search_mark")
            rows = self._db.execute(
                "SELECT id, watch, fetched_at, text_sha256 FROM captures "
                "WHERE id > ? AND text_sha256 IS NOT NULL "
                f"AND outcome IN ({_placeholders(TEXT_OUTCOMES)}) ORDER BY id LIMIT ?",
                (mark, *TEXT_OUTCOMES, _BATCH),
            ).fetchall()
            latest = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM captures").fetchone()[0]
        finally:
            self._db.execute("COMMIT")
        return mark, [Version(*row) for row in rows], latest

    def _advance(self, expected: int, to: int) -> None:
        self._db.execute(
            "UPDATE meta SET value = ? WHERE key = 'search_mark' AND CAST(value AS INTEGER) = ?",
            (str(to), expected),
        )

    def _apply_batch(self, versions: Sequence[Version]) -> int:
        """Apply versions in one transaction of at most ~``_TRANSACTION_SECONDS`` (a
        writer waits no longer); returns how many, 0 if another process got there first.

        Their texts are read and split before the write lock is taken, except the text a
        watch already shows (an unchanged check): nothing of it would be used.
        """
        prepared: list[tuple[Version, list[tuple[bytes, str]] | None]] = []
        started = time.monotonic()
        showing: dict[str, str | None] = {}
        for version in versions:
            if version.watch not in showing:
                row = self._db.execute(
                    "SELECT text_sha256 FROM search_watches WHERE watch = ?", (version.watch,)
                ).fetchone()
                showing[version.watch] = row[0] if row else None
            same = showing[version.watch] == version.text_sha256
            prepared.append((version, None if same else self._blocks_of(version)))
            showing[version.watch] = version.text_sha256
            if time.monotonic() - started > _TRANSACTION_SECONDS / 2:
                break
            if len(prepared) >= _CACHED_TEXTS // 2:  # leftovers stay cached for the next
                break
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if self._meta("search_mark") >= prepared[0][0].capture:
                self._db.execute("ROLLBACK")
                return 0
            started, applied = time.monotonic(), 0
            for version, blocks in prepared:
                self._apply(version, blocks)
                applied += 1
                if time.monotonic() - started > _TRANSACTION_SECONDS:
                    break
            self._db.execute(
                "UPDATE meta SET value = ? WHERE key = 'search_mark'",
                (str(prepared[applied - 1][0].capture),),
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return applied

    # -- applying one version -----------------------------------------------------------

    def _blocks_of(self, version: Version) -> list[tuple[bytes, str]]:
        """(key, text) of each distinct block of a version's text.

        Kept for the last few texts: a batch prepares more versions than one short
        transaction may apply, and the next batch starts with the ones left over.
        """
        cached = self._blocks.get(version.text_sha256)
        if cached is not None:
            self._blocks.move_to_end(version.text_sha256)
            return cached
        try:
            texts = block_texts(self._load_text(version.text_sha256))
        except Exception as error:  # a missing blob must not stop the index
            log.warning(
                "search index: capture %s: text %s unreadable (%s); indexed as empty. "
                "'monitor verify' checks the blobs.",
                version.capture,
                version.text_sha256,
                error,
            )
            texts = []
        seen: dict[bytes, tuple[bytes, str]] = {}
        for text in texts:
            if text.strip():
                key = block_key(text)
                seen.setdefault(key, (key, text))
        blocks = list(seen.values())
        self._blocks[version.text_sha256] = blocks
        if len(self._blocks) > _CACHED_TEXTS:
            self._blocks.popitem(last=False)
        return blocks

    def _apply(self, version: Version, blocks: list[tuple[bytes, str]] | None) -> bool:
        """Record one text capture of a watch (inside a transaction).

        Returns True when the version was older than the watch's indexed history and
        the whole history was replayed instead.
        """
        db = self._db
        last = db.execute(
            "SELECT capture, fetched_at, text_sha256 FROM search_watches WHERE watch = ?",
            (version.watch,),
        ).fetchone()
        if last is not None and (version.fetched_at, version.capture) < (last[1], last[0]):
            # Older than what is indexed (an imported archive capture): replay the
            # watch's history in time order rather than splice spans.
            self._replay_watch(version.watch)
            return True
        if last is None or last[2] != version.text_sha256:
            self._move_spans(version, self._blocks_of(version) if blocks is None else blocks)
        db.execute(
            "INSERT INTO search_watches (watch, capture, fetched_at, text_sha256, "
            "first_capture, first_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (watch) DO UPDATE SET capture = excluded.capture, "
            "fetched_at = excluded.fetched_at, text_sha256 = excluded.text_sha256",
            (
                version.watch,
                version.capture,
                version.fetched_at,
                version.text_sha256,
                version.capture,  # first_capture and first_at: set once, by the first
                version.fetched_at,
            ),
        )
        return False

    def _move_spans(self, version: Version, blocks: list[tuple[bytes, str]]) -> None:
        """Close the spans of blocks this version lacks; open spans for its new ones.

        Blocks the watch already shows are known by their keys; only new ones are
        looked up (or stored) in ``search_blocks``, in bulk (storing.py).
        """
        db = self._db
        showing = {
            key: (block, span)
            for key, block, span in db.execute(
                "SELECT b.key, s.block, s.id FROM search_spans s "
                "JOIN search_blocks b ON b.id = s.block "
                "WHERE s.watch = ? AND s.until_capture IS NULL",
                (version.watch,),
            )
        }
        new = [(key, text) for key, text in blocks if key not in showing]
        ids = {showing[key][0] for key, _ in blocks if key in showing}
        ids.update(block_ids(db, new, self.fts))
        gone = [span for block, span in showing.values() if block not in ids]
        db.executemany(
            "UPDATE search_spans SET until_capture = ?, until_at = ? WHERE id = ?",
            [(version.capture, version.fetched_at, span) for span in gone],
        )
        known = {block for block, _ in showing.values()}
        db.executemany(
            "INSERT INTO search_spans (watch, block, first_capture, first_at) VALUES (?, ?, ?, ?)",
            [(version.watch, block, version.capture, version.fetched_at) for block in ids - known],
        )

    def _replay_watch(self, watch: str) -> None:
        """Recompute one watch's spans from all its text captures, in time order."""
        db = self._db
        db.execute("DELETE FROM search_spans WHERE watch = ?", (watch,))
        db.execute("DELETE FROM search_watches WHERE watch = ?", (watch,))
        for version in self._versions(watch):
            self._apply(version, self._blocks_of(version))

    def _versions(self, watch: str) -> list[Version]:
        """A watch's text captures in time order, one per run of equal text."""
        rows = self._db.execute(
            "SELECT id, watch, fetched_at, text_sha256 FROM captures WHERE watch = ? "
            f"AND text_sha256 IS NOT NULL AND outcome IN ({_placeholders(TEXT_OUTCOMES)}) "
            "ORDER BY fetched_at, id",
            (watch, *TEXT_OUTCOMES),
        ).fetchall()
        versions: list[Version] = []
        for row in rows:
            if not versions or versions[-1].text_sha256 != row[3]:
                versions.append(Version(*row))
        return versions

    # -- rebuilding -----------------------------------------------------------------

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Remake the whole index from the captures and their text blobs.

        Watch by watch, each in one transaction; captures recorded meanwhile are
        indexed by the final catch-up. Returns the number of text versions indexed.
        """
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for table in ("search_spans", "search_watches", "search_blocks"):
                db.execute(f"DELETE FROM {table}")
            for fts in ("search_trigrams", "search_chars") if self.fts else ():
                db.execute(f"INSERT INTO {fts} ({fts}) VALUES ('delete-all')")
            latest = db.execute("SELECT COALESCE(MAX(id), 0) FROM captures").fetchone()[0]
            watches = [
                r[0] for r in db.execute("SELECT DISTINCT watch FROM captures ORDER BY watch")
            ]
            db.execute("UPDATE meta SET value = ? WHERE key = 'search_mark'", (str(latest),))
            db.execute("UPDATE meta SET value = '0' WHERE key = 'search_from'")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        total = 0
        for done, watch in enumerate(watches, 1):
            total += self._rebuild_watch(watch, latest)
            if progress:
                progress(done, len(watches))
        self.catch_up()
        return total

    def _rebuild_watch(self, watch: str, upto: int) -> int:
        """Replay one watch's versions, in transactions of at most ~0.1 s each (a
        ``monitor run`` writing meanwhile waits no longer than that)."""
        versions = [v for v in self._versions(watch) if v.capture <= upto]
        position, replayed = 0, False
        while position < len(versions) and not replayed:
            started = time.monotonic()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                while (
                    position < len(versions)
                    and not replayed
                    and time.monotonic() - started < _TRANSACTION_SECONDS
                ):
                    # A catch-up elsewhere may have indexed a newer capture meanwhile:
                    # then this replays the whole watch, and the rest is done.
                    replayed = self._apply(versions[position], self._blocks_of(versions[position]))
                    position += 1
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return len(versions)


def _placeholders(values: Sequence[object] | Iterable[object]) -> str:
    return ", ".join("?" for _ in values)
