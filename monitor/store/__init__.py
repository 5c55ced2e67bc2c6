"""Evidence stores: the protocol (base.py), the embedded SQLite + blob directory store,
and :func:`open_store`, which picks a back end from a location.

>>> import tempfile
>>> with open_store(tempfile.mkdtemp()) as store:
...     type(store).__name__
'SQLiteStore'
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError
from .base import DEFAULT_DATA_DIR, CaptureRecord, CheckWriter, EvidenceStore, Row
from .sqlite import DATABASE, SQLiteStore, Store, open_stores

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


def open_store(location: str | os.PathLike[str], create: bool = True) -> SQLiteStore:
    """Open the store at a location: today a data directory (SQLite + blobs).

    Only commands that record (``check``, ``run``, ``demo``) create a store; a command
    that reads refuses a directory holding none (``create=False``), so that a mistyped
    ``--data-dir`` is an error, never an empty answer. Other back ends register here by
    the form of their location (a URL scheme).
    """
    path = Path(location)
    if path.exists() and not path.is_dir():
        raise ConfigError(
            f"the data directory {path} is a file; point --data-dir (or MONITOR_DATA_DIR) "
            "at a directory"
        )
    if not create and not (path / DATABASE).is_file():
        raise ConfigError(
            f"no monitor data in {path.resolve()} (no {DATABASE} there). Point --data-dir "
            "(or MONITOR_DATA_DIR) at the directory 'monitor check' or 'monitor run' wrote, "
            "or run 'monitor check' first."
        )
    return SQLiteStore(location)
