"""Fixtures for the scaled-out back ends: a real PostgreSQL and a local S3 server.

``.ci/run`` starts both and exports ``MONITOR_TEST_POSTGRES`` and
``MONITOR_TEST_S3_ENDPOINT``; without them, the session starts its own (services.py).
Tests skip only when no PostgreSQL binaries exist on the machine, and never in CI
(``CI=true``), where a missing server is a failure.

Each test gets a database of its own (``CREATE DATABASE``, dropped afterwards) and a
bucket of its own.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from services import (
    POSTGRES_ENV,
    S3_CREDENTIALS,
    S3_ENV,
    PostgresCluster,
    S3Server,
    create_bucket,
    postgres_bin,
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI must run these tests: .ci/run starts the servers)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """An admin URL of a running PostgreSQL (the one .ci/run started, or our own)."""
    url = os.environ.get(POSTGRES_ENV)
    if url:
        yield url
        return
    if postgres_bin() is None:
        _unavailable(
            "PostgreSQL tests skipped: no PostgreSQL binaries (apt-get install -y postgresql)"
        )
    root = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
    root.chmod(0o755)  # the postgres user must reach it
    cluster = PostgresCluster.start(root / "postgres")
    try:
        yield cluster.url
    finally:
        PostgresCluster.stop(root / "postgres")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """The endpoint of a running S3-compatible server; AWS_* credentials are set."""
    for name, value in S3_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    endpoint = os.environ.get(S3_ENV)
    if endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        yield endpoint
        return
    root = Path(tempfile.mkdtemp(prefix="monitor-s3-"))
    try:
        server = S3Server.start(root)
    except (OSError, RuntimeError) as error:
        _unavailable(f"S3 tests skipped: cannot start moto's server ({error})")
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint
    try:
        yield server.endpoint
    finally:
        S3Server.stop(root)


def database_url(admin_url: str, name: str) -> str:
    """The admin URL with another database name."""
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database for one test."""
    name = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield database_url(postgres_server, name)
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def s3_url(s3_server: str) -> str:
    """``s3://bucket/prefix`` in a fresh bucket."""
    bucket = f"monitor-{secrets.token_hex(6)}"
    create_bucket(s3_server, bucket)
    return f"s3://{bucket}/evidence"


@pytest.fixture(params=["sqlite", "postgres"])
def store_spec(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Each back end in turn: a data directory, then PostgreSQL with a blob directory
    (the signing key then lives in ``MONITOR_KEY_DIR``, as it must without a directory)."""
    from monitor.store import StoreSpec

    if request.param == "sqlite":
        return StoreSpec(str(tmp_path / "data"))
    monkeypatch.setenv("MONITOR_KEY_DIR", str(tmp_path / "keys"))
    return StoreSpec(request.getfixturevalue("pg_url"), str(tmp_path / "blobs"))


def store_options(spec: Any) -> list[str]:
    """The global options that name a store spec on the command line."""
    return ["--store", spec.location] + (["--blobs", spec.blobs] if spec.blobs else [])
