"""The start-up cache: a watchlist validated once is not validated again, byte for byte.

Validating a watchlist loads PyYAML, pydantic and the schema's models (about 0.06 s of
imports) and then does the work (0.02 s for 200 watches), in every ``monitor check``
of a list that has not changed since the last one. Like Python's ``__pycache__``, the
validated result is kept and used while nothing it depends on has changed:

- the key is a SHA-256 over the file's bytes and path, monitor's and Python's versions,
  and the size and modification time of each module of ``monitor.config`` and of each
  library that judges a value (an upgrade, or an edited checkout, starts afresh);
- what depends on the environment is checked at every load (``MONITOR_CONTACT``), and
  secrets are never in it: headers and basic auth name environment variables, which are
  read at fetch time, and a watchlist whose alert routes write their URLs in the file
  (apprise URLs may carry tokens) is not cached at all.

Where: ``$MONITOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/monitor``, else
``~/.cache/monitor``; ``MONITOR_CACHE_DIR=off`` turns it off. The entries are pickles,
written ``0600`` in a ``0700`` directory and read only when this user owns them and no
one else may write them. A damaged, foreign or unreadable entry is ignored: the file is
validated as if it were new. Nothing here is evidence; deleting the directory is safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import pickle
import stat
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__

if TYPE_CHECKING:
    from .watchlist import Watchlist

log = logging.getLogger(__name__)

_FORMAT = b"monitor watchlist cache 1"
_KEEP = 64  # entries; the oldest go first
# Libraries whose verdict on a value is part of the result (CSS, patterns, YAML, schema).
_JUDGES = ("pydantic", "pydantic_core", "yaml", "cssselect", "regex", "lxml", "apscheduler")


def cache_dir() -> Path | None:
    """The cache's directory, or None when it is turned off."""
    chosen = os.environ.get("MONITOR_CACHE_DIR")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "monitor"


def recall(raw: bytes, path: str) -> Watchlist | None:
    """The watchlist this file validated to before, if the cache holds it."""
    entry = _entry(raw, path)
    if entry is None:
        return None
    try:
        data = _read_own(entry)
        if data is None:
            return None
        found = pickle.loads(data)
    except Exception:  # damaged or from elsewhere: validated afresh, never trusted
        log.debug("ignoring the watchlist cache entry %s", entry, exc_info=True)
        return None
    from .watchlist import Watchlist

    return found if isinstance(found, Watchlist) and found.path == path else None


def remember(raw: bytes, path: str, watchlist: Watchlist) -> None:
    """Keep a validated watchlist for the next load of the same bytes (best effort)."""
    if any(route.urls for route in watchlist.routes):
        return  # its URLs may carry tokens: they stay in the watchlist file alone
    entry = _entry(raw, path)
    if entry is None:
        return
    try:
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=entry.parent, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:  # mkstemp: mode 0600
                out.write(pickle.dumps(watchlist, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(temporary, entry)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        _prune(entry.parent)
    except OSError:  # a read-only home, a full disk: the next load validates again
        log.debug("cannot write the watchlist cache entry %s", entry, exc_info=True)


def _entry(raw: bytes, path: str) -> Path | None:
    directory = cache_dir()
    if directory is None:
        return None
    digest = hashlib.sha256(_FORMAT)
    for part in (__version__, sys.version, _code_stamp(), os.path.abspath(path), path):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\x00")
    digest.update(raw)
    return directory / "watchlists" / f"{digest.hexdigest()}.pickle"


def _code_stamp() -> str:
    """Size and mtime of the code that validates: monitor.config and the judging libraries."""
    files = sorted(
        entry.path for entry in os.scandir(Path(__file__).parent) if entry.name.endswith(".py")
    )
    for name in _JUDGES:
        with contextlib.suppress(ImportError, ValueError):
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.origin:
                files.append(spec.origin)
    stamps = []
    for name in files:
        with contextlib.suppress(OSError):
            info = os.stat(name)
            stamps.append(f"{name}:{info.st_size}:{info.st_mtime_ns}")
    return "\n".join(stamps)


def _read_own(entry: Path) -> bytes | None:
    """The entry's bytes if this user owns it and no one else may write it."""
    try:
        handle = os.open(entry, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(handle, "rb") as source:
        info = os.fstat(source.fileno())
        foreign = hasattr(os, "getuid") and info.st_uid != os.getuid()
        if foreign or not stat.S_ISREG(info.st_mode) or info.st_mode & 0o022:
            log.debug("ignoring %s: not this user's, or writable by others", entry)
            return None
        return source.read()


def _prune(directory: Path) -> None:
    entries = [p for p in directory.iterdir() if p.suffix == ".pickle"]
    if len(entries) <= _KEEP:
        return
    def age(entry: Path) -> float:
        try:
            return entry.stat().st_mtime
        except OSError:  # removed meanwhile by another process's pruning
            return 0.0

    for old in sorted(entries, key=age)[: len(entries) - _KEEP]:
        with contextlib.suppress(OSError):
            old.unlink()
