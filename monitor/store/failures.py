"""The store's typed refusals and failures: a moved reference, a full disk, a
read-only directory. Each message says what happened and what to do.

>>> is_out_of_space(OSError(28, "No space left on device"))
True
>>> is_out_of_space(sqlite3.OperationalError("database or disk is full"))
True
>>> is_out_of_space(OSError(2, "No such file or directory"))
False
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from ..errors import StoreError

# Errors a write gets when there is no room for it: the disk or a quota is full, or a
# file would pass the size limit the process runs under (RLIMIT_FSIZE, with SIGXFSZ
# ignored).
_NO_ROOM = frozenset((errno.ENOSPC, errno.EDQUOT, errno.EFBIG))
_SQLITE_NO_ROOM = ("database or disk is full",)
_SQLITE_READ_ONLY = ("attempt to write a readonly database", "query_only")


class StaleReferenceError(StoreError):
    """A check decided its events against a reference another check has since moved.

    Nothing of the check is written (its transaction is rolled back); the check is
    examined again against the new reference.
    """


class WriteFailedError(StoreError):
    """A write to the store failed for a reason outside monitor: no room, a read-only
    directory, a failing device. The check that wanted it says so (check.py)."""


class StorageFullError(WriteFailedError):
    """No room to write: the data directory's disk (or quota, or file size limit) is full."""


def is_out_of_space(error: BaseException) -> bool:
    """Did a write fail for want of room (in a file, in SQLite, or in PostgreSQL)?"""
    if isinstance(error, StorageFullError):
        return True
    if isinstance(error, OSError):
        return error.errno in _NO_ROOM
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return code == sqlite3.SQLITE_FULL or str(error) in _SQLITE_NO_ROOM
    # psycopg's DiskFull (SQLSTATE 53100), without importing psycopg here
    return getattr(error, "sqlstate", None) == "53100"


def storage_full(where: str | Path, error: BaseException) -> StorageFullError:
    """The error to raise when ``where`` had no room for a write."""
    return StorageFullError(
        f"no room to write in {where} ({error}): free space on its disk (or raise the "
        "quota or file size limit), then check again; nothing half-written was kept"
    )


def write_refused(where: str | Path, error: sqlite3.Error) -> WriteFailedError | None:
    """A typed error for an SQLite write that failed for want of room or permission;
    None for any other error (a bug, to be raised as it is)."""
    if is_out_of_space(error):
        return storage_full(where, error)
    if any(text in str(error) for text in _SQLITE_READ_ONLY):
        return WriteFailedError(
            f"the data directory {where} is read-only here ({error}); this command needs "
            "to write to it: run it on a writable copy"
        )
    if isinstance(error, sqlite3.OperationalError) and "disk I/O error" in str(error):
        return WriteFailedError(
            f"writing to {where} failed: {error} (a full disk, a file size limit or a "
            "failing device); free space or check the device, then check again"
        )
    return None
