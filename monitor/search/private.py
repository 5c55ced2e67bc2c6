"""Searching a read-only data directory whose index is behind its captures.

Checks leave indexing to the readers (index.py), so a directory handed over read-only
(to a lawyer, a journalist) right after its checks has captures its index never saw.
Its database is copied with SQLite's backup API into a private temporary directory,
the copy is brought up to date and searched, and the copy is removed: the directory
itself is never written.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import StoreError
from ..store.base import EvidenceStore
from .index import SearchIndex


@contextmanager
def private_index(store: EvidenceStore) -> Iterator[SearchIndex]:
    """A current search index over a private copy of ``store``'s SQLite database.

    >>> import tempfile
    >>> from monitor.store import open_store
    >>> with open_store(tempfile.mkdtemp()) as store, private_index(store) as index:
    ...     index.coverage().complete
    True
    """
    database = getattr(store, "database", None)
    if database is None:
        raise StoreError(f"{store.location} has no SQLite database to copy for search")
    with tempfile.TemporaryDirectory(prefix="monitor-search-copy-") as folder:
        copy = Path(folder) / "monitor.db"
        _backup(str(database), copy)
        with SearchIndex(copy, store.get_blob) as index:
            index.catch_up()
            yield index


def _backup(source: str, target: Path) -> None:
    """A consistent copy of ``source`` (a path or a read-only URI), WAL content included."""
    origin = sqlite3.connect(source, uri=source.startswith("file:"))
    try:
        copy = sqlite3.connect(target)
        try:
            origin.backup(copy)
        finally:
            copy.close()
    except sqlite3.Error as error:
        raise StoreError(
            f"cannot copy the database of {source} for search: {error}. "
            "Copy the data directory somewhere writable and search the copy."
        ) from error
    finally:
        origin.close()
