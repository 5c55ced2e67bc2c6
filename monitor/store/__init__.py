"""Evidence stores: the protocol (base.py), the embedded SQLite + blob directory store,
and :func:`open_store`, which picks a back end from a location.

>>> import tempfile
>>> with open_store(tempfile.mkdtemp()) as store:
...     type(store).__name__
'SQLiteStore'
"""

from __future__ import annotations

import os

from .base import DEFAULT_DATA_DIR, CaptureRecord, CheckWriter, EvidenceStore, Row
from .sqlite import SQLiteStore, Store, open_stores

__all__ = [
    "DEFAULT_DATA_DIR",
    "CaptureRecord",
    "CheckWriter",
    "EvidenceStore",
    "Row",
    "SQLiteStore",
    "Store",
    "open_store",
    "open_stores",
]


def open_store(location: str | os.PathLike[str]) -> SQLiteStore:
    """Open the store at a location: today a data directory (SQLite + blobs).

    Other back ends register here by the form of their location (a URL scheme).
    """
    return SQLiteStore(location)
