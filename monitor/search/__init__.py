"""Full-text search across every extracted text version (``monitor search``, the dashboard).

>>> import tempfile
>>> from monitor.store import open_store
>>> with open_store(tempfile.mkdtemp()) as store, open_index(store) as index:
...     index.catch_up(), search(index, "是否是维族")
(0, [])
"""

from __future__ import annotations

import logging

from ..errors import ConfigError, StoreError
from ..store.base import EvidenceStore
from .blocks import Coverage, normalise_query
from .index import SearchIndex
from .query import Seen, Snippet, Transition, WatchHit, search

__all__ = [
    "Coverage",
    "SearchIndex",
    "Seen",
    "Snippet",
    "Transition",
    "WatchHit",
    "catch_up",
    "normalise_query",
    "open_index",
    "search",
]

log = logging.getLogger(__name__)


SEARCH_UNAVAILABLE = (
    "the search index of this store could not be opened (the server's log says why); "
    "meanwhile 'monitor changes --format json' lists the wording each change event "
    "removed and added"
)


def open_index(store: EvidenceStore) -> SearchIndex:
    """The search index of a store, on a connection of its own: the data directory's
    SQLite database, or the PostgreSQL database (the same tables, see postgres.py)."""
    root = getattr(store, "root", None)
    if getattr(store, "remote", False):  # PostgreSQL
        from ..store.postgres import PostgresStore
        from .postgres import PostgresSearchConnection

        if not isinstance(store, PostgresStore):
            raise ConfigError(f"full-text search has no index on {store.location}")
        return SearchIndex(PostgresSearchConnection(store), store.get_blob)
    if root is None or not (root / "monitor.db").exists():
        raise StoreError(
            f"full-text search needs a data directory or PostgreSQL; {store.location} is neither"
        )
    # A read-only store names its database as a URI (mode=ro): the index reads it so too.
    return SearchIndex(getattr(store, "database", root / "monitor.db"), store.get_blob)


def catch_up(store: EvidenceStore, budget_seconds: float | None = None) -> int:
    """Index what was recorded since the last catch-up; never raises (search is derived
    data: a failure here must not fail the checks that called it). Returns versions read.
    """
    try:
        with open_index(store) as index:
            return index.catch_up(budget_seconds)
    except Exception as error:
        log.warning(
            "the search index could not be brought up to date (%s); "
            "'monitor search --rebuild' remakes it",
            error,
            exc_info=log.isEnabledFor(logging.DEBUG),  # a traceback only with -vv
        )
        return 0
