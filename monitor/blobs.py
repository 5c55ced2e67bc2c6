"""Content-addressed, compressed, write-once blob storage.

A blob is stored at ``blobs/ab/abcdef….gz`` where the name is the SHA-256 of the
*uncompressed* bytes, so ``zcat FILE | sha256sum`` proves the content. Writes are atomic
(temp file, fsync, hard link into place, fsync of the directory) and never replace an
existing file: a blob, once written, is evidence and stays as it is.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import uuid
import zlib
from pathlib import Path

_STALE_TEMPORARY_SECONDS = 3600  # no write takes this long; younger temp files may be live
_GZIP_WBITS = 31  # zlib's gzip container, readable with zcat
# Level 1 is ~3x faster than 6 on HTML and within ~15% of its size; blobs are written on
# every changed capture, so speed wins.
_LEVEL = 1


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of some bytes.

    >>> sha256_hex(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def _gzip(data: bytes) -> bytes:
    compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, _GZIP_WBITS)
    return compressor.compress(data) + compressor.flush()


def _gunzip(data: bytes) -> bytes:
    return zlib.decompress(data, _GZIP_WBITS)


class BlobStore:
    """Write-once blobs in a directory.

    >>> import tempfile
    >>> blobs = BlobStore(tempfile.mkdtemp())
    >>> digest = blobs.put(b"hello")
    >>> blobs.get(digest), blobs.verify(digest)
    (b'hello', True)
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._clean_temporaries()

    def _clean_temporaries(self) -> None:
        # Left behind by a process killed mid-write; never referenced by the database.
        # Only old ones: another process (``monitor run``) may be writing right now.
        cutoff = time.time() - _STALE_TEMPORARY_SECONDS
        for leftover in self._tmp.iterdir():
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}.gz"

    def put(self, data: bytes, digest: str | None = None) -> str:
        """Store bytes; returns their SHA-256. Identical bytes are stored once."""
        digest = digest or sha256_hex(data)
        final = self.path(digest)
        if final.exists():
            return digest
        final.parent.mkdir(exist_ok=True)
        temporary = self._tmp / f"{uuid.uuid4().hex}.part"
        with open(temporary, "wb") as handle:
            handle.write(_gzip(data))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, final)  # fails instead of replacing an existing blob
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
        _fsync_directory(final.parent)
        return digest

    def get(self, digest: str) -> bytes:
        return _gunzip(self.path(digest).read_bytes())

    def verify(self, digest: str) -> bool:
        """True when the blob exists and its content hashes to its name."""
        try:
            return sha256_hex(self.get(digest)) == digest
        except (OSError, zlib.error):
            return False


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
