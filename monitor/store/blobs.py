"""Content-addressed, compressed, write-once blob storage.

A blob is stored at ``blobs/ab/abcdef….gz`` where the name is the SHA-256 of the
*uncompressed* bytes, so ``zcat FILE | sha256sum`` proves the content. Writes are atomic
(temp file, fsync, hard link into place, fsync of the directory) and never replace an
existing file: a blob, once written, is evidence and stays as it is.

A write that fails (a full disk, say) removes its temporary file at once and raises
:class:`~monitor.store.failures.StorageFullError` when there was no room (another
:class:`~monitor.store.failures.WriteFailedError` otherwise). Temporary
files are named after the process that writes them, so that those of a process that
died (killed mid-write) are removed by the next store opened, not an hour later.

The directory fsync is the costly part (on ext4 each one is a journal commit). A store
that records rows after its blobs can defer it (``defer_directory_sync``): then
:meth:`BlobStore.sync` makes every blob written so far durable, in one group commit
shared by the threads that ask at the same time, and the store calls it before each
write transaction, so a row still never references a blob that is not durable.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
import uuid
import zlib
from pathlib import Path
from typing import cast

from isal import isal_zlib

from ..errors import StoreError
from .failures import WriteFailedError, is_out_of_space, storage_full

_STALE_TEMPORARY_SECONDS = 3600  # no write takes this long; younger temp files may be live
_GZIP_WBITS = 31  # the gzip container, readable with zcat
# Blobs are written on every capture whose bytes changed, so compression speed matters.
# ISA-L (Intel's deflate, via python-isal) writes standard gzip: at its level 2 an 85 KB
# page takes 0.14 ms where zlib's level 1 takes 0.5 ms, and the output is smaller.
_LEVEL = 2
# isal's stubs declare its error class as an instance; it is an exception class.
_UNREADABLE = (OSError, zlib.error, cast(type[Exception], isal_zlib.error))


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of some bytes.

    >>> sha256_hex(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def _gzip(data: bytes) -> bytes:
    compressor = isal_zlib.compressobj(_LEVEL, isal_zlib.DEFLATED, _GZIP_WBITS)
    return compressor.compress(data) + compressor.flush()


def _gunzip(data: bytes) -> bytes:
    return isal_zlib.decompress(data, _GZIP_WBITS)


class BlobStore:
    """Write-once blobs in a directory.

    >>> import tempfile
    >>> blobs = BlobStore(tempfile.mkdtemp())
    >>> digest = blobs.put(b"hello")
    >>> blobs.get(digest), blobs.verify(digest)
    (b'hello', True)
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        read_only: bool = False,
        defer_directory_sync: bool = False,
    ) -> None:
        self.root = Path(root)
        self._tmp = self.root / "tmp"
        self.read_only = read_only  # reading evidence creates nothing (no tmp/)
        if not read_only:
            self._tmp.mkdir(parents=True, exist_ok=True)
            self._clean_temporaries()
        self._pending = _PendingDirectories() if defer_directory_sync else None

    def _clean_temporaries(self) -> None:
        # Left behind by a process killed mid-write; never referenced by the database.
        # Those of a process that is gone go now; another process (``monitor run``) may
        # be writing right now, so a live (or unknown) writer's go only when old.
        cutoff = time.time() - _STALE_TEMPORARY_SECONDS
        for leftover in self._tmp.iterdir():
            with contextlib.suppress(OSError):
                if not _writer_alive(leftover.name) or leftover.stat().st_mtime < cutoff:
                    leftover.unlink()

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}.gz"

    def exists(self, digest: str) -> bool:
        return self.path(digest).exists()

    def location(self, digest: str) -> str:
        """A file URI for a blob, for reports to link to."""
        return self.path(digest).resolve().as_uri()

    def put(self, data: bytes, digest: str | None = None) -> str:
        """Store bytes; returns their SHA-256. Identical bytes are stored once."""
        digest = digest or sha256_hex(data)
        final = self.path(digest)
        if final.exists():
            # Another process may have linked it and not yet synced its directory.
            if self._pending is not None:
                self._pending.add(final.parent)
            return digest
        if self.read_only:
            raise StoreError(f"{self.root} is opened read-only: no blob can be written")
        temporary = self._tmp / f"{os.getpid()}.{uuid.uuid4().hex}.part"
        try:
            final.parent.mkdir(exist_ok=True)
            with open(temporary, "wb") as handle:
                handle.write(_gzip(data))
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # never replace an existing blob
                os.link(temporary, final)
            if self._pending is not None:
                self._pending.add(final.parent)  # durable at the next sync(), before any row
            else:
                _fsync_directory(final.parent)
        except OSError as error:
            if is_out_of_space(error):
                raise storage_full(self.root, error) from error
            raise WriteFailedError(
                f"cannot write a blob in {self.root}: {error}; check the directory's "
                "permissions and its disk"
            ) from error
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()  # at once, whatever happened: never a leftover
        return digest

    def sync(self) -> None:
        """Make every blob written so far durable (a no-op when nothing is pending)."""
        if self._pending is None:
            return
        try:
            self._pending.sync()
        except OSError as error:
            if is_out_of_space(error):
                raise storage_full(self.root, error) from error
            raise WriteFailedError(
                f"cannot make the blobs in {self.root} durable: {error}; check its disk"
            ) from error

    def get(self, digest: str) -> bytes:
        return _gunzip(self.path(digest).read_bytes())

    def verify(self, digest: str) -> bool:
        """True when the blob exists and its content hashes to its name."""
        try:
            return sha256_hex(self.get(digest)) == digest
        except _UNREADABLE:
            return False


def _writer_alive(name: str) -> bool:
    """Is the process that named this temporary file (``PID.UUID.part``) running?

    Unknown names (older versions) count as alive: only their age removes them.
    """
    pid, _, _ = name.partition(".")
    if not pid.isdigit() or int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


class _PendingDirectories:
    """Blob directories with entries not yet fsynced, made durable by group commit.

    A caller of :meth:`sync` needs every directory added before its call synced before
    it returns. Callers queue on one lock; whoever gets it syncs everything pending at
    that moment, so the callers that waited behind it usually find their own entries
    already covered and return at once: concurrent checks share one round of fsyncs.
    """

    def __init__(self) -> None:
        self._state = threading.Lock()  # guards the fields below
        self._syncing = threading.Lock()  # one round of fsyncs at a time
        self._dirty: set[Path] = set()
        self._added = 0  # additions so far
        self._durable = 0  # additions known durable

    def add(self, directory: Path) -> None:
        with self._state:
            self._dirty.add(directory)
            self._added += 1

    def sync(self) -> None:
        with self._state:
            wanted = self._added
        if self._durable >= wanted:
            return
        with self._syncing:
            with self._state:
                if self._durable >= wanted:
                    return  # a round that started after our additions covered them
                batch, self._dirty = self._dirty, set()
                upto = self._added
            try:
                for directory in sorted(batch):
                    _fsync_directory(directory)
            except BaseException:
                with self._state:
                    self._dirty |= batch  # still pending: the next sync tries again
                raise
            with self._state:
                self._durable = upto


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
