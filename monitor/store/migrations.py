"""Schema migrations of the SQLite store, numbered, applied in order, each exactly once.

Append a new ``(version, sql)`` pair for every schema change; never edit one that has
shipped (data directories out there have applied it). ``meta.schema`` holds the
version a data directory is at. Version 1 is the original schema, written with
``IF NOT EXISTS`` so that data directories from before numbered migrations open as-is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from .chaining import chain_existing_rows

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS watches (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS captures (
    id INTEGER PRIMARY KEY,
    watch TEXT NOT NULL,
    url TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    status INTEGER,
    final_url TEXT,
    headers TEXT NOT NULL DEFAULT '[]',
    redirects TEXT NOT NULL DEFAULT '[]',
    body_sha256 TEXT,
    body_size INTEGER,
    text_sha256 TEXT,
    encoding TEXT,
    elapsed_ms INTEGER,
    attempts INTEGER NOT NULL DEFAULT 1,
    outcome TEXT NOT NULL,
    error_class TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS captures_by_watch ON captures (watch, id);
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY,
    watch TEXT NOT NULL,
    kind TEXT NOT NULL,
    detected_at TEXT NOT NULL,
    from_capture INTEGER REFERENCES captures (id),
    to_capture INTEGER NOT NULL REFERENCES captures (id),
    removed TEXT NOT NULL,
    added TEXT NOT NULL,
    flags TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_time ON changes (detected_at, id);
CREATE INDEX IF NOT EXISTS changes_by_watch ON changes (watch, id);
CREATE TRIGGER IF NOT EXISTS captures_no_update BEFORE UPDATE ON captures
    BEGIN SELECT RAISE(ABORT, 'captures are append-only evidence'); END;
CREATE TRIGGER IF NOT EXISTS captures_no_delete BEFORE DELETE ON captures
    BEGIN SELECT RAISE(ABORT, 'captures are append-only evidence'); END;
CREATE TRIGGER IF NOT EXISTS changes_no_update BEFORE UPDATE ON changes
    BEGIN SELECT RAISE(ABORT, 'changes are append-only evidence'); END;
CREATE TRIGGER IF NOT EXISTS changes_no_delete BEFORE DELETE ON changes
    BEGIN SELECT RAISE(ABORT, 'changes are append-only evidence'); END;
""",
    ),
    (
        2,
        """
-- How a capture was fetched: http, or browser (its body is the rendered DOM). NULL:
-- recorded before this column, by HTTP.
ALTER TABLE captures ADD COLUMN fetched_with TEXT;
-- A rendered capture's raw main-document response, recorded as its own capture row
-- (outcome raw_response) in the same transaction.
ALTER TABLE captures ADD COLUMN source_capture INTEGER REFERENCES captures (id);
-- A rendered capture's full-page screenshot (PNG blob), when the watch asks for one.
ALTER TABLE captures ADD COLUMN screenshot_sha256 TEXT;
""",
    ),
    (
        3,
        # Alerts (monitor/notify/outbox.py): routes and their cursors over `changes`, the
        # outbox of messages, and the deliveries ledger. Destinations are stored by their
        # masked URL only: no password or token ever reaches the data directory.
        """
CREATE TABLE notify_routes (
    name TEXT PRIMARY KEY,
    cursor INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    last_digest_at TEXT,
    config TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE notify_messages (
    id INTEGER PRIMARY KEY,
    route TEXT NOT NULL REFERENCES notify_routes (name),
    kind TEXT NOT NULL,
    changes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    done_at TEXT
);
CREATE INDEX notify_messages_open ON notify_messages (route, done_at, id);
CREATE INDEX notify_messages_by_time ON notify_messages (route, created_at);
CREATE TABLE notify_deliveries (
    message INTEGER NOT NULL REFERENCES notify_messages (id),
    target TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    lease_until TEXT,
    lease_owner TEXT,
    last_error TEXT,
    delivered_at TEXT,
    delivered_with TEXT,
    PRIMARY KEY (message, target)
);
CREATE TRIGGER notify_delivered_is_final BEFORE UPDATE ON notify_deliveries
    WHEN OLD.delivered_at IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'a delivered notification is final'); END;
CREATE TRIGGER notify_deliveries_no_delete BEFORE DELETE ON notify_deliveries
    BEGIN SELECT RAISE(ABORT, 'the deliveries ledger keeps every delivery'); END;
CREATE TRIGGER notify_messages_no_delete BEFORE DELETE ON notify_messages
    BEGIN SELECT RAISE(ABORT, 'the outbox keeps every message'); END;
""",
    ),
    (
        4,
        # The evidence chain (monitor/evidence/chain.py, docs/evidence.md): every capture,
        # change and note gets its position and chain hash, written in the same
        # transaction as the row. Rows that predate it are chained by UPGRADES[4].
        """
ALTER TABLE captures ADD COLUMN chain_seq INTEGER;
ALTER TABLE captures ADD COLUMN chain_hash TEXT;
ALTER TABLE changes ADD COLUMN chain_seq INTEGER;
ALTER TABLE changes ADD COLUMN chain_hash TEXT;
CREATE TABLE chain_notes (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    detail TEXT NOT NULL,
    chain_seq INTEGER NOT NULL,
    chain_hash TEXT NOT NULL
);
CREATE TABLE checkpoints (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    head TEXT NOT NULL,
    at TEXT NOT NULL,
    payload TEXT NOT NULL,
    signature TEXT NOT NULL,
    timestamp BLOB,
    authority TEXT
);
CREATE TRIGGER chain_notes_no_update BEFORE UPDATE ON chain_notes
    BEGIN SELECT RAISE(ABORT, 'chain notes are append-only evidence'); END;
CREATE TRIGGER chain_notes_no_delete BEFORE DELETE ON chain_notes
    BEGIN SELECT RAISE(ABORT, 'chain notes are append-only evidence'); END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only evidence'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only evidence'); END;
""",
    ),
    (
        5,
        # Nothing enters the evidence tables around the chain (an older monitor, a script).
        """
CREATE TRIGGER captures_chained BEFORE INSERT ON captures WHEN NEW.chain_hash IS NULL
    BEGIN SELECT RAISE(ABORT, 'captures must be chained (monitor/evidence/chain.py)'); END;
CREATE TRIGGER changes_chained BEFORE INSERT ON changes WHEN NEW.chain_hash IS NULL
    BEGIN SELECT RAISE(ABORT, 'changes must be chained (monitor/evidence/chain.py)'); END;
""",
    ),
    (
        6,
        """
CREATE TABLE sites (
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    baselined INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE site_pages (
    site TEXT NOT NULL REFERENCES sites (name),
    watch TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    missing_runs INTEGER NOT NULL DEFAULT 0,
    listed_capture INTEGER REFERENCES captures (id),
    first_run INTEGER NOT NULL,
    last_run INTEGER NOT NULL,
    PRIMARY KEY (site, watch)
);
CREATE INDEX site_pages_by_url ON site_pages (site, url);
CREATE INDEX site_pages_by_watch ON site_pages (watch);
CREATE TABLE site_runs (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL REFERENCES sites (name),
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    complete INTEGER NOT NULL,
    baseline INTEGER NOT NULL,
    listed INTEGER NOT NULL,
    pages INTEGER NOT NULL,
    summary TEXT NOT NULL,
    sources TEXT NOT NULL,
    errors TEXT NOT NULL,
    manifest_sha256 TEXT
);
CREATE INDEX site_runs_by_site ON site_runs (site, id);
CREATE TRIGGER site_runs_no_update BEFORE UPDATE ON site_runs
    BEGIN SELECT RAISE(ABORT, 'site runs are append-only evidence'); END;
CREATE TRIGGER site_runs_no_delete BEFORE DELETE ON site_runs
    BEGIN SELECT RAISE(ABORT, 'site runs are append-only evidence'); END;
CREATE TABLE locale_state (
    counterparts TEXT NOT NULL,
    pair TEXT NOT NULL,
    texts TEXT NOT NULL,
    gaps TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (counterparts, pair)
);
""",
    ),
    (
        7,
        # Full-text search over every extracted text version (monitor/search/index.py
        # explains the tables). Derived data: `monitor search --rebuild` remakes it.
        # Text captures recorded before this migration are indexed by that rebuild;
        # search_from remembers where the index began.
        """
CREATE TABLE search_blocks (
    id INTEGER PRIMARY KEY,
    key BLOB NOT NULL UNIQUE,
    text TEXT NOT NULL,
    folded TEXT NOT NULL
);
CREATE VIRTUAL TABLE search_trigrams USING fts5(
    folded, content='search_blocks', content_rowid='id', tokenize='trigram case_sensitive 1'
);
CREATE VIRTUAL TABLE search_chars USING fts5(
    chars, content='', tokenize='unicode61 remove_diacritics 0'
);
CREATE TABLE search_spans (
    id INTEGER PRIMARY KEY,
    watch TEXT NOT NULL,
    block INTEGER NOT NULL REFERENCES search_blocks (id),
    first_capture INTEGER NOT NULL,
    first_at TEXT NOT NULL,
    until_capture INTEGER,
    until_at TEXT
);
CREATE INDEX search_spans_by_block ON search_spans (block, watch);
CREATE INDEX search_spans_open ON search_spans (watch, until_capture);
CREATE TABLE search_watches (
    watch TEXT PRIMARY KEY,
    capture INTEGER NOT NULL,
    fetched_at TEXT NOT NULL,
    text_sha256 TEXT NOT NULL,
    first_capture INTEGER NOT NULL,
    first_at TEXT NOT NULL
);
CREATE INDEX captures_by_watch_time ON captures (watch, fetched_at);
CREATE INDEX changes_by_to_capture ON changes (to_capture);
INSERT INTO meta (key, value)
    SELECT 'search_from', CAST(COALESCE(MAX(id), 0) AS TEXT) FROM captures;
INSERT INTO meta (key, value)
    SELECT 'search_mark', CAST(COALESCE(MAX(id), 0) AS TEXT) FROM captures;
""",
    ),
    (
        8,
        # Triage marks on change events (the dashboard): append-only, like the evidence.
        """
CREATE TABLE triage (
    id INTEGER PRIMARY KEY,
    change INTEGER NOT NULL REFERENCES changes (id),
    mark TEXT NOT NULL CHECK (mark IN ('reviewed', 'important', 'noise')),
    note TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX triage_by_change ON triage (change, id);
CREATE TRIGGER triage_no_update BEFORE UPDATE ON triage
    BEGIN SELECT RAISE(ABORT, 'triage marks are append-only'); END;
CREATE TRIGGER triage_no_delete BEFORE DELETE ON triage
    BEGIN SELECT RAISE(ABORT, 'triage marks are append-only'); END;
""",
    ),
    (
        9,
        # Public archives (issue 13): where an imported capture came from, change events
        # derived from archived copies (and those a later import superseded), and the
        # witness queue (Save Page Now). All new columns are nullable: a live capture or
        # event leaves them empty.
        """
ALTER TABLE captures ADD COLUMN source TEXT;
ALTER TABLE captures ADD COLUMN archived_at TEXT;
ALTER TABLE captures ADD COLUMN archive_url TEXT;
ALTER TABLE captures ADD COLUMN archive_digest TEXT;
CREATE UNIQUE INDEX captures_by_archive_url ON captures (watch, archive_url)
    WHERE archive_url IS NOT NULL;
ALTER TABLE changes ADD COLUMN derived_from TEXT;
CREATE TABLE superseded_changes (
    change_id INTEGER PRIMARY KEY REFERENCES changes (id),
    superseded_at TEXT NOT NULL
);
CREATE TRIGGER superseded_no_update BEFORE UPDATE ON superseded_changes
    BEGIN SELECT RAISE(ABORT, 'superseded changes are append-only evidence'); END;
CREATE TRIGGER superseded_no_delete BEFORE DELETE ON superseded_changes
    BEGIN SELECT RAISE(ABORT, 'superseded changes are append-only evidence'); END;
CREATE TABLE witnesses (
    id INTEGER PRIMARY KEY,
    change_id INTEGER NOT NULL REFERENCES changes (id),
    archive TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    reason TEXT,
    job_id TEXT,
    archived_url TEXT,
    archive_timestamp TEXT,
    requested_at TEXT NOT NULL,
    submitted_at TEXT,
    finished_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    copy TEXT,
    UNIQUE (change_id, archive)
);
CREATE INDEX witnesses_due ON witnesses (status, next_attempt_at);
CREATE TRIGGER witnesses_no_delete BEFORE DELETE ON witnesses
    BEGIN SELECT RAISE(ABORT, 'witnesses are evidence'); END;
""",
    ),
]

# Python steps run right after the SQL of their version, in the same transaction.
UPGRADES: dict[int, Callable[[sqlite3.Connection], None]] = {4: chain_existing_rows}

LATEST = MIGRATIONS[-1][0]
