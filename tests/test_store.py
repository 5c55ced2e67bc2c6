"""Store: append-only, content-addressed, atomic."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.analysis.events import EventDraft, WatchState
from monitor.model import EventKind, Outcome, WatchStatus
from monitor.store import CaptureRecord, Store

OK = Outcome.OK


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "data")
    s.ensure_watches([("w", "https://x/a", {"name": "w"})])
    yield s
    s.close()  # an open store makes later tests' workers spawn (test_parallel.py)


def record(store: Store, body: bytes, events: list[str] = ()) -> tuple[int, list[int]]:  # type: ignore[assignment]
    digest = store.put_blob(body)
    capture = CaptureRecord(
        "w",
        "https://x/a",
        datetime.now(UTC),
        OK,
        status=200,
        body_sha256=digest,
        body_size=len(body),
    )
    with store.recording() as writer:
        capture_id = writer.add_capture(capture)
        writer.state("w")
        change_ids = [
            writer.add_change(capture, EventDraft(EventKind(kind), None, capture_id))
            for kind in events
        ]
        writer.set_state("w", WatchState(status=WatchStatus.UP, reference=capture_id))
    return capture_id, change_ids


def test_identical_bodies_are_stored_once(store: Store) -> None:
    record(store, b"same")
    record(store, b"same")
    files = list((store.root / "blobs").glob("??/*.gz"))
    assert len(files) == 1 and len(store.captures("w")) == 2


def test_captures_and_changes_are_append_only(store: Store) -> None:
    capture_id, (change_id,) = record(store, b"x", ["changed"])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store._db.execute("UPDATE captures SET status = 500 WHERE id = ?", (capture_id,))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store._db.execute("DELETE FROM changes WHERE id = ?", (change_id,))


def test_failed_decision_leaves_no_row(store: Store) -> None:
    with pytest.raises(RuntimeError), store.recording() as writer:
        writer.add_capture(CaptureRecord("w", "https://x/a", datetime.now(UTC), OK))
        raise RuntimeError("the state machine failed after the capture was added")
    assert store.captures("w") == []


def test_verify_detects_a_tampered_blob(store: Store) -> None:
    record(store, b"evidence")
    assert store.verify() == []
    (blob,) = (store.root / "blobs").glob("??/*.gz")
    blob.chmod(0o644)
    blob.write_bytes(b"not gzip")
    assert len(store.verify()) == 1


def test_blob_is_plain_gzip_named_by_sha256(store: Store) -> None:
    import gzip
    import hashlib

    digest = store.put_blob("是否是维族".encode())
    assert (
        hashlib.sha256(gzip.decompress(store.blobs.path(digest).read_bytes())).hexdigest() == digest
    )


def test_blobs_written_by_any_gzip_are_read_and_verified(store: Store) -> None:
    # Blobs written before the switch to ISA-L (stdlib zlib) stay readable evidence.
    import gzip
    import hashlib

    data = "人脸属性：是否是维族".encode() * 50
    digest = hashlib.sha256(data).hexdigest()
    path = store.blobs.path(digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, compresslevel=6))
    assert store.get_blob(digest) == data
    assert store.blobs.verify(digest)


def test_unwritable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    from monitor.errors import StoreError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open the data directory"):
        Store(blocker / "data")


def test_opening_a_store_never_touches_another_process_in_flight_writes(store: Store) -> None:
    """`monitor changes` opened during `monitor run` must not break its blob writes."""
    import os
    import time

    live = store.root / "blobs" / "tmp" / "writer-in-flight.part"
    stale = store.root / "blobs" / "tmp" / "killed-long-ago.part"
    live.write_bytes(b"partial")
    stale.write_bytes(b"partial")
    old = time.time() - 2 * 86400
    os.utime(stale, (old, old))
    Store(store.root).close()
    assert live.exists() and not stale.exists()
