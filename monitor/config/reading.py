"""Reading a watchlist file's bytes: the size cap, and errors that say what to do.

Kept apart from the YAML and schema layers (source.py, schema.py) so that a watchlist
found in the start-up cache (cache.py) is read without loading either.
"""

from __future__ import annotations

import os

from ..errors import WatchlistError
from . import defaults

MB = 1024 * 1024


def max_bytes(limit_mb: float = defaults.WATCHLIST_MAX_MB) -> int:
    return int(limit_mb * MB)


def too_large(path: str, size: int, limit: int) -> WatchlistError:
    return WatchlistError(
        path,
        f"the file is {_size(size)}, over the {_size(limit)} limit for a watchlist; split "
        "it into several watchlists, or list a documentation site once under 'sites:' "
        "instead of each of its pages",
    )


def _size(count: int) -> str:
    """
    >>> _size(4 * MB), _size(5_300_000), _size(1048)
    ('4 MB', '5.05 MB', '1,048 bytes')
    """
    return f"{count / MB:.3g} MB" if count >= MB / 10 else f"{count:,} bytes"


def read_raw(path: str, limit: int | None = None) -> bytes:
    """The file's bytes, never more than ``limit`` (the watchlist cap) into memory."""
    limit = max_bytes() if limit is None else limit
    try:
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
            if len(raw) > limit:
                raise too_large(path, os.fstat(handle.fileno()).st_size, limit)
    except FileNotFoundError:
        raise WatchlistError(path, "file not found; check the path") from None
    except IsADirectoryError:
        raise WatchlistError(path, "is a directory, not a watchlist file") from None
    except OSError as error:
        raise WatchlistError(path, f"cannot read the file: {error.strerror or error}") from None
    return raw


def decode_text(raw: bytes, path: str) -> str:
    """UTF-8 (a byte-order mark allowed), or an error naming the line of the bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise WatchlistError(
            path,
            f"not valid UTF-8 (byte 0x{raw[error.start]:02x}); save the file as UTF-8",
            line=line,
        ) from None


def read_text(path: str, limit: int | None = None) -> str:
    """The file's text: :func:`read_raw` then :func:`decode_text`."""
    return decode_text(read_raw(path, limit), path)
