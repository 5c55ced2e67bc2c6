"""What only the PostgreSQL store has to guarantee: many writers, migrations, a copy in."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from monitor.analysis.events import EventDraft, WatchState
from monitor.errors import ConfigError
from monitor.model import EventKind, Outcome, WatchStatus
from monitor.store import CaptureRecord, SQLiteStore, StoreSpec, open_store
from monitor.store.postgres import (
    CHECK_RUN,
    AlreadyRecordedError,
    PostgresStore,
    StaleReferenceError,
)
from monitor.store.postgres_migrations import LATEST
from monitor.store.transfer import MigrationError, compare_counts, copy_directory

T0 = datetime(2020, 12, 17, 8, tzinfo=UTC)


@pytest.fixture
def store(pg_url: str, tmp_path: Path) -> PostgresStore:
    made = open_store(pg_url, str(tmp_path / "blobs"))
    assert isinstance(made, PostgresStore)
    made.ensure_watches([("w", "https://x.example/a", {"name": "w"})])
    return made


def capture(body: bytes, at: datetime = T0, watch: str = "w") -> CaptureRecord:
    digest = hashlib.sha256(body).hexdigest()
    return CaptureRecord(watch, "https://x.example/a", at, Outcome.OK, status=200,
                         body_sha256=digest, text_sha256=digest)  # fmt: skip


def good(store: PostgresStore, body: bytes, at: datetime = T0) -> int:
    store.put_blob(body)
    with store.recording() as writer:
        writer.state("w")
        capture_id = writer.add_capture(capture(body, at))
        writer.set_state("w", WatchState(status=WatchStatus.UP, reference=capture_id))
    return capture_id


def test_a_change_against_a_moved_reference_is_refused(store: PostgresStore) -> None:
    """Worker A decided against reference 1 while worker B moved it to 2: A's event is refused."""
    first = good(store, b"v1")
    second = good(store, b"v2")  # the reference is now `second`
    with pytest.raises(StaleReferenceError, match="moved the reference"), store.recording() as w:
        w.state("w")
        third = w.add_capture(capture(b"v3"))
        w.add_change(capture(b"v3"), EventDraft(EventKind.CHANGED, first, third, ("x",)))
    assert len(store.captures("w")) == 2 and store.changes() == []
    assert store.state("w").reference == second


def test_one_reference_yields_at_most_one_changed_event(store: PostgresStore) -> None:
    first = good(store, b"v1")
    with store.recording() as w:
        w.state("w")
        c = w.add_capture(capture(b"v2"))
        w.add_change(capture(b"v2"), EventDraft(EventKind.CHANGED, first, c, ("a",)))
    with pytest.raises(StaleReferenceError), store.recording() as w:
        w.state("w")
        c = w.add_capture(capture(b"v2b"))
        w.add_change(capture(b"v2b"), EventDraft(EventKind.CHANGED, first, c, ("a",)))
    assert len(store.changes()) == 1


def test_a_check_run_is_recorded_once(store: PostgresStore) -> None:
    token = CHECK_RUN.set("w@2020-12-17T08:00:00Z")
    try:
        good(store, b"v1")
        with pytest.raises(AlreadyRecordedError):
            good(store, b"v1 again")  # the same job retried after its worker died
    finally:
        CHECK_RUN.reset(token)
    assert store.check_run_recorded("w@2020-12-17T08:00:00Z")
    assert len(store.captures("w")) == 1


def test_the_watch_row_serialises_two_recordings(store: PostgresStore) -> None:
    """The second writer waits for the first one's commit, then reads its state."""
    good(store, b"v1")
    seen: list[int | None] = []
    first_in = threading.Event()

    def slow_writer() -> None:
        with store.recording() as w:
            w.state("w")
            first_in.set()
            c = w.add_capture(capture(b"slow"))
            threading.Event().wait(0.5)
            w.set_state("w", WatchState(status=WatchStatus.UP, reference=c))

    thread = threading.Thread(target=slow_writer)
    thread.start()
    first_in.wait(5)
    with store.recording() as w:
        seen.append(w.state("w").reference)
    thread.join()
    assert seen == [max(r["id"] for r in store.captures("w"))]


def test_truncate_is_refused(store: PostgresStore, pg_url: str) -> None:
    good(store, b"v1")
    with psycopg.connect(pg_url) as conn, pytest.raises(psycopg.Error, match="append-only"):
        conn.execute("TRUNCATE captures CASCADE")


def test_migrations_are_idempotent_and_versioned(store: PostgresStore, pg_url: str) -> None:
    assert store.migrate() == LATEST == store.schema_version()
    again = open_store(pg_url, store.blobs.location("x").rsplit("/", 2)[0].removeprefix("file://"))
    again.close()
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT version FROM monitor_schema").fetchall()
    assert [r[0] for r in rows] == list(range(1, LATEST + 1))


def test_a_newer_schema_is_refused(store: PostgresStore, pg_url: str, tmp_path: Path) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO monitor_schema (version) VALUES (%s)", (LATEST + 1,))
    with pytest.raises(Exception, match="upgrade monitor"):
        open_store(pg_url, str(tmp_path / "blobs"))


def test_verify_reports_a_disabled_trigger(store: PostgresStore, pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE captures DISABLE TRIGGER captures_append_only")
    assert store.verify() == [
        "postgresql: trigger captures_append_only is missing or disabled: records are not "
        "protected"
    ]


@pytest.mark.parametrize(
    ("location", "blobs", "message"),
    [
        ("postgresql://127.0.0.1:1/x", None, "needs a place for its blobs"),
        ("some-dir", "s3://bucket/prefix", "goes with a PostgreSQL store"),
        ("postgresql://127.0.0.1:1/x", "ftp://host/x", "expected a directory or s3://"),
        ("postgresql://127.0.0.1:1/x", "s3://", "not an s3://bucket/prefix URL"),
    ],
)
def test_bad_store_configuration_is_a_clear_error(
    location: str, blobs: str | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        open_store(StoreSpec(location, blobs))


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("monitor.store.postgres.CONNECT_TIMEOUT", 1.0)
    with pytest.raises(Exception, match=r"cannot connect to postgresql://u:\*\*\*@127.0.0.1:1/x"):
        open_store("postgresql://u:secret@127.0.0.1:1/x", str(tmp_path / "blobs"))


# -- monitor migrate ------------------------------------------------------------------


_OPEN: list[SQLiteStore] = []


@pytest.fixture(autouse=True)
def _close_directories() -> Iterator[None]:
    """Data directories opened by a test are closed after it (an open one stops forking)."""
    yield
    while _OPEN:
        _OPEN.pop().close()


def _directory(path: Path, checks: int = 30) -> SQLiteStore:
    source = SQLiteStore(path)
    _OPEN.append(source)
    source.ensure_watches([("a", "https://x.example/a", {"name": "a"}),
                           ("b", "https://x.example/b", {"name": "b"})])  # fmt: skip
    for i in range(checks):
        for watch in ("a", "b"):
            body = f"{watch} version {i // 3}".encode()
            source.put_blob(body)
            record = capture(body, T0 + timedelta(hours=i), watch)
            with source.recording() as w:
                state = w.state(watch)
                c = w.add_capture(record)
                if state.reference is not None and i % 3 == 0:
                    w.add_change(record, EventDraft(EventKind.CHANGED, state.reference, c,
                                                    (f"version {i // 3 - 1}",)))  # fmt: skip
                w.set_state(watch, WatchState(status=WatchStatus.UP, reference=c))
    return source


def test_migrate_copies_rows_exactly_and_verifies(
    tmp_path: Path, pg_url: str, s3_url: str
) -> None:
    source = _directory(tmp_path / "data")
    target = open_store(pg_url, s3_url)
    assert isinstance(target, PostgresStore)
    report = copy_directory(source, target, batch=7)
    assert (report.captures, report.changes, report.blobs) == (60, 18, 20)
    assert compare_counts(source, target) == [] and target.verify() == []
    for watch in ("a", "b"):
        assert target.captures(watch) == source.captures(watch)
        assert target.state(watch) == source.state(watch)
    assert target.changes() == source.changes()
    # New records continue after the copied ids.
    c = good_on(target, "a", b"after the move")
    assert c == 61


def good_on(store: PostgresStore, watch: str, body: bytes) -> int:
    store.put_blob(body)
    with store.recording() as w:
        w.state(watch)
        return w.add_capture(capture(body, T0 + timedelta(days=9), watch))


def test_migrate_resumes_and_is_idempotent(tmp_path: Path, pg_url: str) -> None:
    source = _directory(tmp_path / "data")
    target = open_store(pg_url, str(tmp_path / "copy-blobs"))
    assert isinstance(target, PostgresStore)
    calls = 0

    def stop_after_three_batches(message: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise KeyboardInterrupt  # the copy is stopped mid-way

    with pytest.raises(KeyboardInterrupt):
        copy_directory(source, target, batch=10, progress=stop_after_three_batches)
    assert target.counts()["captures"] == 30
    resumed = copy_directory(source, target, batch=10)
    assert resumed.resumed_after_capture == 30 and resumed.captures == 30
    again = copy_directory(source, target, batch=10)
    assert (again.captures, again.changes) == (0, 0)
    assert compare_counts(source, target) == [] and target.verify() == []
    assert target.changes() == source.changes()


def test_migrate_stops_at_a_damaged_blob(tmp_path: Path, pg_url: str) -> None:
    source = _directory(tmp_path / "data", checks=6)
    digest = source.captures("b")[3]["body_sha256"]
    path = source.blobs.path(digest)
    path.chmod(0o644)
    import gzip

    path.write_bytes(gzip.compress(b"tampered"))
    target = open_store(pg_url, str(tmp_path / "copy-blobs"))
    assert isinstance(target, PostgresStore)
    with pytest.raises(MigrationError, match=f"blob {digest} does not match its hash"):
        copy_directory(source, target)
    assert target.counts()["captures"] == 0


def test_migrate_refuses_a_database_with_other_evidence(tmp_path: Path, pg_url: str) -> None:
    target = open_store(pg_url, str(tmp_path / "blobs"))
    assert isinstance(target, PostgresStore)
    target.ensure_watches([("w", "https://x.example/a", {"name": "w"})])
    target.put_blob(b"other")
    with target.recording() as w:
        w.state("w")
        w.add_capture(capture(b"other"))
    with pytest.raises(MigrationError, match="already holds other evidence"):
        copy_directory(_directory(tmp_path / "data", checks=2), target)


def test_a_missing_bucket_is_said_at_once(s3_server: str, tmp_path: Path) -> None:
    from monitor.errors import StoreError
    from monitor.store import open_blobs

    with pytest.raises(StoreError, match="that the bucket exists"):
        open_blobs("s3://no-such-bucket-here/prefix")


def test_the_chain_catches_an_edit_made_behind_the_triggers(
    store: PostgresStore, pg_url: str
) -> None:
    from monitor.evidence.chain import verify_entries

    good(store, b"v1")
    edited = good(store, b"v2")
    good(store, b"v3")
    assert verify_entries(store.chain_entries()).problems == []
    with psycopg.connect(pg_url, autocommit=True) as conn:  # the database's owner, say
        conn.execute("ALTER TABLE captures DISABLE TRIGGER captures_append_only")
        conn.execute("UPDATE captures SET status = 404 WHERE id = %s", (edited,))
        conn.execute("ALTER TABLE captures ENABLE TRIGGER captures_append_only")
    problems = verify_entries(store.chain_entries()).problems
    assert len(problems) == 1 and problems[0].startswith(f"capture {edited}: its fields")
