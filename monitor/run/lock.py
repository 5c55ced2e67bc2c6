"""One checking process per data directory.

Two ``monitor check``/``monitor run`` processes on one data directory would fetch every
page twice and race each other's events. The first takes an advisory lock on
``monitor.lock`` in the data directory (``flock``: released by the kernel when the
process dies, so a killed monitor never leaves a stale lock); the second is refused
with a message naming the first.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError, StoreError
from ..model import iso, utc_now

LOCK_FILE = "monitor.lock"


class DataDirectoryBusy(ConfigError):
    """Another process is checking this data directory (exit status 2)."""


@contextmanager
def checking_lock(data_dir: str | os.PathLike[str], command: str) -> Iterator[None]:
    """Hold the data directory's checking lock for the duration, or refuse at once."""
    root = Path(data_dir)
    path = root / LOCK_FILE
    try:
        root.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the block
    except OSError as error:  # a read-only copy of the evidence, say
        raise StoreError(
            f"cannot take the checking lock {path}: {error}. 'monitor {command}' records, "
            "so it needs a writable data directory (read commands work on a read-only one)"
        ) from error
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataDirectoryBusy(_busy_message(path)) from None
        handle.seek(0)
        handle.truncate()
        holder = {"pid": os.getpid(), "command": command, "since": iso(utc_now())}
        handle.write(json.dumps(holder))
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock


def _busy_message(path: Path) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        holder = {}
    who = (
        f"'monitor {holder.get('command', '?')}' (pid {holder.get('pid', '?')}, "
        f"since {holder.get('since', '?')})"
    )
    return (
        f"another monitor, {who}, is checking the data directory {path.parent.resolve()}; "
        "wait for it to finish or stop it, or use another --data-dir"
    )
