"""Blobs on S3-compatible object storage: content-addressed, written once, re-hashed to verify.

The layout is the blob directory's, under a prefix, so that the same standard tools
prove a blob wherever it lives::

    s3://bucket/prefix/ab/abcdef….gz      gzip of the raw bytes; the name is their SHA-256

    aws s3 cp s3://bucket/prefix/ab/abcdef….gz - | zcat | sha256sum

Write once: a blob is uploaded with ``If-None-Match: *``, so the server refuses to
replace an object that exists (HTTP 412, which for a content-addressed name means "the
same bytes are already there"). Servers that do not implement conditional writes can
be told to check with a HEAD first (``MONITOR_S3_WRITE_CHECK=head``); that is racy
between two writers of the *same* bytes, which is harmless here. A successful PUT is
durable on S3, so a check's rows are committed only after its uploads returned.

The client is obstore (Python bindings to the Apache Arrow project's ``object_store``
Rust crate, which DataFusion, Polars and delta-rs use): measured against a local S3
server it costs about 0.4 ms of CPU per request where boto3 costs 2.3 to 2.9 ms, it
imports in 0.03 s instead of 1.2 s, it releases the GIL during requests (blobs are
written from the check's worker threads and verified in parallel), and conditional
PUT is a first-class mode. Connection settings come from the usual environment
variables: ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_SESSION_TOKEN``, ``AWS_REGION`` / ``AWS_DEFAULT_REGION``; plain ``http://``
endpoints (a local MinIO, say) are allowed only when the endpoint says so.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError, PreconditionError
from obstore.store import S3Store

from ..errors import ConfigError, NotFoundError, StoreError
from .blobs import _gunzip, _gzip, sha256_hex

WRITE_CHECK_ENV = "MONITOR_S3_WRITE_CHECK"  # if-none-match (default) | head
VERIFY_THREADS = 16  # blobs verified at once: each is a round trip to the server


def parse_s3_url(url: str) -> tuple[str, str]:
    """Bucket and key prefix of an ``s3://bucket/prefix`` URL.

    >>> parse_s3_url("s3://evidence/monitor/blobs/")
    ('evidence', 'monitor/blobs')
    >>> parse_s3_url("s3://evidence")
    ('evidence', '')
    >>> parse_s3_url("http://x")
    Traceback (most recent call last):
    ...
    monitor.errors.ConfigError: 'http://x' is not an s3://bucket/prefix URL
    """
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigError(f"{url!r} is not an s3://bucket/prefix URL")
    return parts.netloc, parts.path.strip("/")


def _endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")


class S3BlobStore:
    """Write-once, content-addressed blobs in an S3 bucket (a blob back end).

    >>> S3BlobStore.key_for("ab" + "0" * 62)
    'ab/ab00000000000000000000000000000000000000000000000000000000000000.gz'
    """

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.bucket, self.prefix = parse_s3_url(url)
        endpoint = _endpoint()
        options = {"allow_http": True} if endpoint and endpoint.startswith("http://") else {}
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        config = {"region": region} if region else {}
        self.head_first = os.environ.get(WRITE_CHECK_ENV, "if-none-match").lower() == "head"
        try:
            self._store = S3Store(
                self.bucket,
                prefix=self.prefix or None,
                client_options=options,  # type: ignore[arg-type]
                **config,  # type: ignore[arg-type]
            )
        except BaseError as error:
            raise ConfigError(f"cannot use {url}: {error}") from error

    @staticmethod
    def key_for(digest: str) -> str:
        return f"{digest[:2]}/{digest}.gz"

    def location(self, digest: str) -> str:
        """The blob's URL, for reports (``s3://bucket/prefix/ab/<sha>.gz``)."""
        return f"{self.url}/{self.key_for(digest)}"

    def put(self, data: bytes, digest: str | None = None) -> str:
        """Upload bytes once; returns their SHA-256. Identical bytes are stored once."""
        digest = digest or sha256_hex(data)
        key = self.key_for(digest)
        try:
            if self.head_first and self._exists(key):
                return digest
            obstore.put(self._store, key, _gzip(data), mode="create")
        except (AlreadyExistsError, PreconditionError):
            pass  # the same name means the same bytes: already stored
        except BaseError as error:
            raise StoreError(f"cannot write blob {self.location(digest)}: {error}") from error
        return digest

    def exists(self, digest: str) -> bool:
        return self._exists(self.key_for(digest))

    def _exists(self, key: str) -> bool:
        try:
            obstore.head(self._store, key)
        except FileNotFoundError:
            return False
        return True

    def get(self, digest: str) -> bytes:
        try:
            return _gunzip(bytes(obstore.get(self._store, self.key_for(digest)).bytes()))
        except FileNotFoundError as error:
            raise NotFoundError(f"blob {self.location(digest)} does not exist") from error
        except BaseError as error:
            raise StoreError(f"cannot read blob {self.location(digest)}: {error}") from error

    def verify(self, digest: str) -> bool:
        """True when the blob exists and its content hashes to its name."""
        try:
            return sha256_hex(self.get(digest)) == digest
        except NotFoundError:
            return False
        except StoreError:
            raise  # the server is unreachable: not evidence of a bad blob
        except Exception:  # undecompressable: altered
            return False

    def verify_many(self, digests: list[str]) -> list[str]:
        """The digests among these that are missing or do not match (checked in parallel)."""
        with ThreadPoolExecutor(VERIFY_THREADS, thread_name_prefix="monitor-verify") as pool:
            verdicts = pool.map(self.verify, digests)
            return [d for d, ok in zip(digests, verdicts, strict=True) if not ok]

    def check_access(self) -> None:
        """Fail early, with a clear message, when the bucket cannot be reached."""
        try:
            # One request: the top level under the prefix (at most the 256 "ab/" folders).
            obstore.list_with_delimiter(self._store)
        except BaseError as error:
            raise StoreError(
                f"cannot reach {self.url}: {error}. Check AWS_ENDPOINT_URL, the credentials "
                "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) and that the bucket exists."
            ) from error
