"""Evidence stores: the protocol (base.py), the embedded SQLite + blob directory store,
and :func:`open_store`, which picks a back end from a location.

>>> import tempfile
>>> with open_store(tempfile.mkdtemp()) as store:
...     type(store).__name__
'SQLiteStore'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from ..errors import ConfigError
from .base import DEFAULT_DATA_DIR, BlobBackend, CaptureRecord, CheckWriter, EvidenceStore, Row
from .blobs import BlobStore
from .sqlite import DATABASE, SQLiteStore, Store, open_stores

__all__ = [
    "DEFAULT_DATA_DIR",
    "BlobBackend",
    "CaptureRecord",
    "CheckWriter",
    "EvidenceStore",
    "Row",
    "SQLiteStore",
    "Store",
    "StoreSpec",
    "open_blobs",
    "open_store",
    "open_stores",
]


@dataclass(frozen=True)
class StoreSpec:
    """Where the evidence lives: a data directory, or a PostgreSQL URL and a blob location.

    Picklable, so worker processes open the same store.

    >>> StoreSpec("monitor-data").postgres, StoreSpec("postgresql://db/e", "s3://b/p").postgres
    (False, True)
    """

    location: str
    blobs: str | None = None

    @property
    def postgres(self) -> bool:
        return self.location.startswith(POSTGRES_SCHEMES)

    def open(self, create: bool = True, read_only: bool = False) -> EvidenceStore:
        return open_store(self.location, self.blobs, create, read_only)


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(
    location: str | os.PathLike[str] | StoreSpec,
    blobs: str | None = None,
    create: bool = True,
    read_only: bool = False,
) -> EvidenceStore:
    """Open the store at a location: a data directory (SQLite + ``DIR/blobs``), or a
    ``postgresql://`` URL whose blobs live in ``blobs``: a directory or ``s3://bucket/prefix``.

    Only commands that record (``check``, ``run``, ``demo``) create a data directory's
    store; a command that reads refuses a directory holding none (``create=False``), so
    that a mistyped ``--data-dir`` is an error, never an empty answer.
    """
    if isinstance(location, StoreSpec):
        text, blobs = location.location, location.blobs
    else:
        text = os.fspath(location)
    if not text.startswith(POSTGRES_SCHEMES):
        if blobs is not None:
            raise ConfigError(
                f"--blobs / MONITOR_BLOBS ({blobs}) goes with a PostgreSQL store; a data "
                "directory keeps its blobs in DIR/blobs. Use --store postgresql://… with it."
            )
        return _open_directory(text, create and not read_only, read_only)
    try:
        from .postgres import PostgresStore
    except ImportError as error:
        raise ConfigError(
            f"a PostgreSQL store needs the 'scale' extra: pip install 'monitor[scale]' ({error})"
        ) from error
    # cast: mypy cannot close the protocol's self-referential __enter__ for this class;
    # tests/backends.py runs the same contract suite against both stores.
    return cast(EvidenceStore, PostgresStore(text, open_blobs(blobs)))


def open_blobs(where: str | None) -> BlobBackend:
    """A blob back end: a directory, or ``s3://bucket/prefix`` (AWS_* variables apply)."""
    if not where:
        raise ConfigError(
            "a PostgreSQL store needs a place for its blobs: --blobs / MONITOR_BLOBS, "
            "a directory or s3://bucket/prefix"
        )
    if where.startswith("s3://"):
        from .s3 import S3BlobStore

        bucket = S3BlobStore(where)
        bucket.check_access()  # a wrong bucket or key is said now, not at the first check
        return bucket
    if "://" in where:
        raise ConfigError(f"--blobs {where!r}: expected a directory or s3://bucket/prefix")
    return BlobStore(where)


def _open_directory(location: str, create: bool, read_only: bool = False) -> SQLiteStore:
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
    return SQLiteStore(location, read_only=read_only)
