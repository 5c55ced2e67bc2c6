"""The store contract, run against every back end, so that they can never drift apart.

``sqlite``: the embedded default (SQLite + blob directory). ``postgres+s3``: PostgreSQL
and an S3 bucket (a real server each, see tests/backends.py). ``postgres+dir``:
PostgreSQL with a local blob directory.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.analysis.events import EventDraft, WatchState
from monitor.analysis.flag import Flag
from monitor.errors import NotFoundError, StoreError
from monitor.model import EventKind, Outcome, WatchStatus
from monitor.store import CaptureRecord, EvidenceStore, Store

T0 = datetime(2020, 12, 17, 8, 0, tzinfo=UTC)
BACKENDS = ["sqlite", "postgres+s3", "postgres+dir"]


@dataclass
class Backend:
    """A store plus the back door a test needs to tamper with it."""

    name: str
    store: EvidenceStore
    sql: Callable[[str, tuple[Any, ...]], None]  # raw SQL, '?' placeholders
    raw_blob: Callable[[str], bytes]  # a blob's stored (compressed) bytes
    replace_blob: Callable[[str, bytes | None], None]  # None deletes


def _sqlite(tmp_path: Path) -> Backend:
    store = Store(tmp_path / "data")

    def sql(statement: str, params: tuple[Any, ...]) -> None:
        store._db.execute(statement, params)

    def replace(digest: str, data: bytes | None) -> None:
        path = store.blobs.path(digest)
        path.chmod(0o644)
        if data is None:
            path.unlink()
        else:
            path.write_bytes(data)

    return Backend("sqlite", store, sql, lambda d: store.blobs.path(d).read_bytes(), replace)


def _postgres(pg_url: str, blobs_where: str) -> Backend:
    import obstore
    import psycopg

    from monitor.store import open_store

    store = open_store(pg_url, blobs=blobs_where)

    def sql(statement: str, params: tuple[Any, ...]) -> None:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(statement.replace("?", "%s"), params)  # type: ignore[arg-type]

    blobs: Any = store.blobs  # type: ignore[attr-defined]
    if blobs_where.startswith("s3://"):

        def raw(digest: str) -> bytes:
            return bytes(obstore.get(blobs._store, blobs.key_for(digest)).bytes())

        def replace(digest: str, data: bytes | None) -> None:
            if data is None:
                obstore.delete(blobs._store, blobs.key_for(digest))
            else:  # what an attacker with bucket access could do
                obstore.put(blobs._store, blobs.key_for(digest), data)

        return Backend("postgres+s3", store, sql, raw, replace)

    def replace_file(digest: str, data: bytes | None) -> None:
        path = blobs.path(digest)
        path.chmod(0o644)
        if data is None:
            path.unlink()
        else:
            path.write_bytes(data)

    return Backend(
        "postgres+dir", store, sql, lambda d: blobs.path(d).read_bytes(), replace_file
    )


def open_backend(
    request: pytest.FixtureRequest, tmp_path: Path, config: dict[str, Any]
) -> Iterator[Backend]:
    """The back end ``request.param`` names, with watch "w" (``config``) registered;
    for fixtures parametrised over (some of) ``BACKENDS``."""
    if request.param == "sqlite":
        made = _sqlite(tmp_path)
    elif request.param == "postgres+s3":
        made = _postgres(request.getfixturevalue("pg_url"), request.getfixturevalue("s3_url"))
    else:
        made = _postgres(request.getfixturevalue("pg_url"), str(tmp_path / "blobs"))
    made.store.ensure_watches([("w", "https://x.example/a", {"name": "w", **config})])
    try:
        yield made
    finally:
        made.store.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    yield from open_backend(request, tmp_path, {"terms": ["维族"]})


def capture(
    body_sha: str | None, at: datetime = T0, watch: str = "w", **fields: Any
) -> CaptureRecord:
    values: dict[str, Any] = {
        "status": 200,
        "final_url": "https://x.example/a",
        "headers": (("Content-Type", "text/html; charset=utf-8"), ("ETag", '"v1"')),
        "body_sha256": body_sha,
        "body_size": 10,
        "text_sha256": body_sha,
        "encoding": "utf-8",
        "elapsed_ms": 12,
    }
    values.update(fields)
    outcome = values.pop("outcome", Outcome.OK)
    return CaptureRecord(watch, "https://x.example/a", at, outcome, **values)


def record(
    store: EvidenceStore,
    body: bytes,
    at: datetime = T0,
    events: tuple[EventDraft, ...] = (),
    watch: str = "w",
) -> tuple[int, list[int]]:
    """One check: blob first, then capture, events and state in one transaction."""
    digest = store.put_blob(body)
    record = capture(digest, at, watch)
    with store.recording() as writer:
        state = writer.state(watch)
        capture_id = writer.add_capture(record)
        drafts = [
            EventDraft(e.kind, state.reference, capture_id, e.removed, e.added, e.flags, e.detail)
            for e in events
        ]
        change_ids = [writer.add_change(record, draft) for draft in drafts]
        writer.set_state(watch, WatchState(status=WatchStatus.UP, reference=capture_id))
    return capture_id, change_ids


def changed(removed: tuple[str, ...] = (), added: tuple[str, ...] = (), flags=()) -> EventDraft:  # type: ignore[no-untyped-def]
    return EventDraft(EventKind.CHANGED, None, 0, removed, added, tuple(flags), {"blocks": 1})


# -- watches -------------------------------------------------------------------------


def test_watch_registration_and_configuration(backend: Backend) -> None:
    store = backend.store
    assert store.watch_config("w") == {"name": "w", "terms": ["维族"]}
    store.ensure_watches([("w", "https://x.example/b", {"name": "w", "every": 60})])
    assert store.watch_config("w") == {"name": "w", "every": 60}
    assert store.state("w") == WatchState()
    assert store.state("nobody") == WatchState()
    with pytest.raises(NotFoundError, match="no watch named 'nobody'"):
        store.require_watch("nobody")
    with pytest.raises(NotFoundError):
        store.captures("nobody")


def test_state_round_trip(backend: Backend) -> None:
    capture_id, _ = record(backend.store, b"page one")
    state = backend.store.state("w")
    assert state.status == WatchStatus.UP and state.reference == capture_id


def test_last_checks(backend: Backend) -> None:
    assert backend.store.last_checks() == {}
    record(backend.store, b"one", T0)
    record(backend.store, b"two", T0 + timedelta(hours=1))
    assert backend.store.last_checks() == {"w": T0 + timedelta(hours=1)}


# -- records -------------------------------------------------------------------------


def test_capture_rows_read_back_as_written(backend: Backend) -> None:
    capture_id, _ = record(backend.store, "第一版".encode())
    (row,) = backend.store.captures("w")
    assert row == backend.store.capture(capture_id)
    assert row["id"] == capture_id
    assert row["fetched_at"] == "2020-12-17T08:00:00.000000Z"
    assert row["headers"] == '[["Content-Type", "text/html; charset=utf-8"], ["ETag", "\\"v1\\""]]'
    assert row["outcome"] == "ok" and row["status"] == 200 and row["attempts"] == 1
    assert row["body_sha256"] == hashlib.sha256("第一版".encode()).hexdigest()
    with pytest.raises(NotFoundError):
        backend.store.capture(capture_id + 1000)


def test_change_rows_carry_wording_flags_and_snapshots(backend: Backend) -> None:
    store = backend.store
    first, _ = record(store, b"v1")
    flag = Flag("维族", "removed", 1, 0)
    second, (change_id,) = record(store, b"v2", T0 + timedelta(hours=6),
                                  (changed(("、是否是维族",), (), [flag]),))  # fmt: skip
    row = store.change(change_id)
    assert row["watch"] == "w" and row["kind"] == "changed" and row["url"] == "https://x.example/a"
    assert (row["from_capture"], row["to_capture"]) == (first, second)
    assert row["removed"] == '["、是否是维族"]' and row["added"] == "[]"
    assert row["flags"] == '[{"term": "维族", "direction": "removed", "before": 1, "after": 0}]'
    assert row["from_snapshot"] == hashlib.sha256(b"v1").hexdigest()
    assert row["to_snapshot"] == hashlib.sha256(b"v2").hexdigest()
    assert row["detected_at"] == "2020-12-17T14:00:00.000000Z"
    with pytest.raises(NotFoundError, match="monitor changes"):
        store.change(change_id + 1000)


def test_changes_filters_and_order(backend: Backend) -> None:
    store = backend.store
    store.ensure_watches([("other", "https://y.example/", {"name": "other"})])
    record(store, b"a0")
    record(store, b"b0", watch="other")
    _, (c1,) = record(store, b"a1", T0 + timedelta(hours=1), (changed(("x",)),))
    _, (c2,) = record(store, b"b1", T0 + timedelta(hours=2), (changed(("y",)),), watch="other")
    flag = Flag("维族", "removed", 1, 0)
    _, (c3,) = record(store, b"a2", T0 + timedelta(hours=3), (changed(("维族",), (), [flag]),))
    ids = lambda rows: [r["id"] for r in rows]  # noqa: E731
    assert ids(store.changes()) == [c1, c2, c3]
    assert ids(store.changes(since=T0 + timedelta(hours=2))) == [c2, c3]
    assert ids(store.changes(watch="w")) == [c1, c3]
    assert ids(store.changes(flagged=True)) == [c3]
    assert ids(store.changes(since=T0 + timedelta(hours=9))) == []


def test_capture_at(backend: Backend) -> None:
    store = backend.store
    first, _ = record(store, b"v1", T0)
    second, _ = record(store, b"v2", T0 + timedelta(days=1))
    at = store.capture_at("w", T0 + timedelta(hours=1))
    assert at is not None and at["id"] == first
    latest = store.capture_at("w", T0 + timedelta(days=2))
    assert latest is not None and latest["id"] == second
    assert store.capture_at("w", T0 - timedelta(seconds=1)) is None


def test_a_failed_check_leaves_no_row(backend: Backend) -> None:
    with pytest.raises(RuntimeError), backend.store.recording() as writer:
        writer.state("w")
        writer.add_capture(capture(None))
        raise RuntimeError("the state machine failed after the capture was added")
    assert backend.store.captures("w") == []
    assert backend.store.state("w") == WatchState()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE captures SET status = 500 WHERE id = ?",
        "DELETE FROM captures WHERE id = ?",
        "UPDATE changes SET removed = '[]' WHERE to_capture = ?",
        "DELETE FROM changes WHERE to_capture = ?",
    ],
)
def test_records_are_append_only_in_the_database(backend: Backend, statement: str) -> None:
    record(backend.store, b"v1")
    capture_id, _ = record(backend.store, b"v2", events=(changed(("gone",)),))
    with pytest.raises(Exception, match="append-only"):
        backend.sql(statement, (capture_id,))
    assert len(backend.store.captures("w")) == 2 and len(backend.store.changes()) == 1


# -- blobs ---------------------------------------------------------------------------


def test_blobs_are_gzip_named_by_sha256_and_stored_once(backend: Backend) -> None:
    store = backend.store
    body = "是否是维族".encode() * 50
    digest = store.put_blob(body)
    assert digest == hashlib.sha256(body).hexdigest() == store.put_blob(body)
    assert store.get_blob(digest) == body
    assert gzip.decompress(backend.raw_blob(digest)) == body  # zcat | sha256sum proves it
    assert digest in store.blob_location(digest)


def test_verify_passes_on_a_sound_store(backend: Backend) -> None:
    record(backend.store, b"v1")
    record(backend.store, b"v2", events=(changed(("a",)),))
    assert backend.store.verify() == []


@pytest.mark.parametrize("damage", ["altered", "deleted", "not gzip"])
def test_verify_finds_a_damaged_blob(backend: Backend, damage: str) -> None:
    record(backend.store, b"evidence one")
    digest = backend.store.put_blob(b"evidence two")
    record(backend.store, b"evidence two")
    data = {
        "altered": gzip.compress(b"evidence twO"),
        "deleted": None,
        "not gzip": b"not gzip",
    }[damage]
    backend.replace_blob(digest, data)
    problems = backend.store.verify()
    state = "missing" if damage == "deleted" else "altered"
    assert sorted(problems) == [  # the same wording on every back end
        f"capture 2: body blob {digest} is {state}",
        f"capture 2: text blob {digest} is {state}",
    ]


def test_missing_blob_read_is_a_clear_error(backend: Backend) -> None:
    with pytest.raises((NotFoundError, OSError, StoreError)):
        backend.store.get_blob("0" * 64)


# -- concurrency ---------------------------------------------------------------------


def test_concurrent_checks_of_one_watch_are_serialised(backend: Backend) -> None:
    """Eight threads record checks of one watch; each sees the previous one's state."""
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            for j in range(5):
                record(backend.store, f"{i}-{j}".encode(), T0 + timedelta(seconds=10 * i + j))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = backend.store.captures("w")
    assert len(rows) == 40
    assert backend.store.state("w").reference == max(r["id"] for r in rows)


def test_rendered_capture_links_its_raw_response_and_screenshot(backend: Backend) -> None:
    store = backend.store
    raw_sha = store.put_blob(b"<html><script>render()</script></html>")
    dom_sha = store.put_blob(b"<html><main>rendered</main></html>")
    shot_sha = store.put_blob(b"\x89PNG fake screenshot")
    raw = capture(raw_sha, outcome=Outcome.OK, fetched_with="http")
    with store.recording() as writer:
        writer.state("w")
        raw_id = writer.add_capture(raw)
        rendered = capture(dom_sha, fetched_with="browser", source_capture=raw_id,
                           screenshot_sha256=shot_sha)  # fmt: skip
        rendered_id = writer.add_capture(rendered)
    row = store.capture(rendered_id)
    assert (row["fetched_with"], row["source_capture"], row["screenshot_sha256"]) == (
        "browser", raw_id, shot_sha
    )
    assert store.verify() == []
    backend.replace_blob(shot_sha, None)
    assert store.verify() == [f"capture {rendered_id}: screenshot blob {shot_sha} is missing"]
