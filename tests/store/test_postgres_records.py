"""The PostgreSQL tables added for archives, alerts, triage and sites (schema versions 2
and 3): what the database itself refuses, an upgrade from version 1 keeps the chain, and
change ids commit in id order (what the alert outbox's cursor relies on)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from monitor.analysis.events import EventDraft, WatchState
from monitor.evidence.chain import verify_entries
from monitor.model import EventKind, Outcome, WatchStatus, iso
from monitor.store import CaptureRecord, open_store
from monitor.store import postgres_migrations as migrations
from monitor.store.postgres import PostgresStore

T0 = datetime(2020, 12, 17, 8, tzinfo=UTC)
PROVENANCE = ("source", "archived_at", "archive_url", "archive_digest")


def record(store: PostgresStore, body: bytes, at: datetime, changed: bool = False) -> int:
    digest = store.put_blob(body)
    row = CaptureRecord("w", "https://x.example/a", at, Outcome.OK, status=200,
                        body_sha256=digest, text_sha256=digest)  # fmt: skip
    with store.recording() as writer:
        state = writer.state("w")
        capture_id = writer.add_capture(row)
        if changed and state.reference:
            draft = EventDraft(EventKind.CHANGED, state.reference, capture_id, ("old",))
            change_id = writer.add_change(row, draft)
            writer.add_witness(change_id, "wayback", row.url)
        writer.set_state("w", WatchState(status=WatchStatus.UP, reference=capture_id))
    return capture_id


@pytest.fixture
def store(pg_url: str, tmp_path: Path) -> PostgresStore:
    made = open_store(pg_url, str(tmp_path / "blobs"))
    assert isinstance(made, PostgresStore)
    made.ensure_watches([("w", "https://x.example/a", {"name": "w", "tags": ["zh"]})])
    record(made, b"v1", T0)
    record(made, b"v2", T0 + timedelta(hours=1), changed=True)
    made.add_triage(1, "important", "", "ana")
    with made.recording() as writer:
        writer.supersede_change(1)
    with made.connection() as conn:
        conn.execute(
            "INSERT INTO notify_routes (name, cursor, created_at, config, updated_at) "
            "VALUES ('r', 0, 't', '{}', 't')"
        )
        conn.execute("INSERT INTO notify_messages (route, kind, changes, created_at) "
                     "VALUES ('r', 'event', '[1]', 't')")  # fmt: skip
        conn.execute("INSERT INTO notify_deliveries (message, target, delivered_at) "
                     "VALUES (1, 'json://x', 't')")  # fmt: skip
        conn.execute("INSERT INTO sites (name, config, created_at) VALUES ('s', '{}', 't')")
        conn.execute(
            "INSERT INTO site_runs (site, started_at, finished_at, complete, baseline, listed, "
            "pages, summary, sources, errors) VALUES ('s', 't', 't', 1, 1, 0, 0, '{}', '[]', '[]')"
        )
    return made


REFUSED = [  # (statement, what the database says)
    ("UPDATE superseded_changes SET superseded_at = now()", "append-only"),
    ("DELETE FROM superseded_changes", "append-only"),
    ("TRUNCATE superseded_changes", "append-only"),
    ("DELETE FROM witnesses", "keep every row"),
    ("TRUNCATE witnesses CASCADE", "keep every row"),
    ("UPDATE triage SET mark = 'noise'", "append-only"),
    ("DELETE FROM triage", "append-only"),
    ("UPDATE notify_deliveries SET delivered_at = NULL", "delivered notification is final"),
    ("DELETE FROM notify_deliveries", "keep every row"),
    ("DELETE FROM notify_messages", "keep every row"),
    ("UPDATE site_runs SET pages = 99", "append-only"),
    ("DELETE FROM site_runs", "append-only"),
    ("INSERT INTO triage (change, mark, author, created_at) VALUES (1, 'delete', 'x', 't')",
     "triage_mark_check"),
    ("UPDATE captures SET archive_url = 'https://web.archive.org/x'", "append-only"),
    ("UPDATE changes SET derived_from = 'wayback'", "append-only"),
]  # fmt: skip


@pytest.mark.parametrize(("statement", "says"), REFUSED)
def test_the_database_refuses(store: PostgresStore, pg_url: str, statement: str, says: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute(statement)  # type: ignore[arg-type]
    assert says in str(caught.value)


ALLOWED = [  # the one mutable record of each kind moves on
    "UPDATE witnesses SET status = 'archived', attempts = 1",
    "UPDATE notify_messages SET done_at = 't'",
    "UPDATE site_pages SET status = 'missing'",
    "UPDATE locale_state SET gaps = '{}'",
]


@pytest.mark.parametrize("statement", ALLOWED)
def test_mutable_state_moves_on(store: PostgresStore, pg_url: str, statement: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def test_an_upgrade_from_version_1_keeps_the_chain(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database made by the first release (schema 1) opens, upgrades and verifies."""
    monkeypatch.setattr("monitor.store.postgres.MIGRATIONS", migrations.MIGRATIONS[:1])
    monkeypatch.setattr("monitor.store.postgres.LATEST", 1)
    from monitor.store import postgres_writer as writer

    old_fields = [f for f in writer._CAPTURE_FIELDS if f not in PROVENANCE]  # as release 1
    monkeypatch.setattr(writer, "_INSERT_CAPTURE", writer._insert("captures", tuple(old_fields)))
    with PostgresStore(pg_url, open_store_blobs(tmp_path)) as old:
        old.ensure_watches([("w", "https://x.example/a", {"name": "w"})])
        for hour in range(3):
            record(old, f"v{hour}".encode(), T0 + timedelta(hours=hour), changed=False)
        head = old.chain_head()
    monkeypatch.undo()
    with PostgresStore(pg_url, open_store_blobs(tmp_path)) as new:
        assert new.schema_version() == migrations.LATEST
        assert new.chain_head() == head
        assert verify_entries(new.chain_entries()).problems == []
        record(new, b"v9", T0 + timedelta(hours=9), changed=True)  # goes on, with a witness
        assert [w["status"] for w in new.witnesses()] == ["pending"]
        assert verify_entries(new.chain_entries()).problems == [] and new.verify() == []


def record_in(store: PostgresStore, watch: str) -> int:
    digest = store.put_blob(watch.encode())
    row = CaptureRecord(watch, "https://x.example/a", T0, Outcome.OK, body_sha256=digest)
    with store.recording() as writer:
        return writer.add_capture(row)


def open_store_blobs(tmp_path: Path):  # type: ignore[no-untyped-def]
    from monitor.store import open_blobs

    return open_blobs(str(tmp_path / "blobs"))


def test_change_ids_commit_in_id_order(store: PostgresStore) -> None:
    """Eight writers at once: a reader never sees a change id while a smaller one is still
    to come (the alert outbox moves its cursor over change ids: a late commit below it
    would never be alerted)."""
    store.ensure_watches([(f"w{n}", "https://x.example/a", {"name": f"w{n}"}) for n in range(8)])
    seen_gaps: list[tuple[int, int]] = []
    stop = threading.Event()

    def writer(n: int) -> None:
        # As a site's discovery run or a language comparison: events, and no capture
        # first in their transaction (a check's capture takes the chain's lock earlier).
        listed = record_in(store, f"w{n}")
        for _ in range(15):
            with store.recording() as w:
                draft = EventDraft(EventKind.PAGE_ADDED, None, listed)
                w.add_event(f"w{n}", iso(T0), draft)

    def reader() -> None:
        high = 0
        while not stop.is_set():
            ids = {r["id"] for r in store._query("SELECT id FROM changes")}
            new = [i for i in ids if i > high]
            if new:  # every id up to the highest seen is there (none is drawn and lost)
                missing = set(range(high + 1, max(new) + 1)) - ids
                if missing:
                    seen_gaps.append((min(missing), max(new)))
                high = max(new)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    stop.set()
    watcher.join(30)
    assert seen_gaps == []


@pytest.mark.parametrize(
    ("table", "trigger"),
    [("witnesses", "witnesses_no_delete"), ("notify_deliveries", "notify_delivered_is_final"),
     ("triage", "triage_append_only"), ("site_runs", "site_runs_append_only"),
     ("superseded_changes", "superseded_append_only")],
)  # fmt: skip
def test_verify_reports_a_disabled_trigger(
    store: PostgresStore, pg_url: str, table: str, trigger: str
) -> None:
    assert store.verify() == []
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")  # type: ignore[arg-type]
    assert store.verify() == [
        f"postgresql: trigger {trigger} is missing or disabled: records are not protected"
    ]
