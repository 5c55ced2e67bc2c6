"""The chain as documented: an independent script recomputes it; upgrades chain old rows."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import run_cli
from evidence_fixtures import data_dir_fixture, demo_master_fixture, raw_db_fixture  # noqa: F401

from monitor.evidence import chain
from monitor.store import open_store
from monitor.store.migrations import MIGRATIONS, UPGRADES

SCRIPT = Path(__file__).with_name("independent_chain.py")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "evidence.md"


def run_script(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(data_dir)], capture_output=True, text=True, check=False
    )


def test_an_independent_script_recomputes_the_chain(data_dir: Path) -> None:
    with open_store(data_dir) as store:
        head = store.chain_head()
    done = run_script(data_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith(f"{head.seq} records, head {head.hash}")


def test_the_independent_script_sees_an_edit(data_dir: Path, raw_db: sqlite3.Connection) -> None:
    raw_db.execute("UPDATE changes SET removed = '[]' WHERE id = 1")
    done = run_script(data_dir)
    assert done.returncode == 1 and "mismatch at change 1" in done.stdout


def test_the_docs_state_the_field_lists_the_code_uses() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for record_type, fields in chain.FIELDS.items():
        assert f"`{record_type}`: " + ", ".join(f"`{f}`" for f in fields) in text


def _old_data_dir(new: Path, old: Path) -> None:
    """A data directory as the version before the chain wrote it (the schema before it)."""
    old.mkdir()
    shutil.copytree(new / "blobs", old / "blobs")
    db = sqlite3.connect(old / "monitor.db", isolation_level=None)
    (chained_from,) = UPGRADES  # the migration that introduced the chain
    for version, sql in MIGRATIONS:
        if version < chained_from:
            db.executescript(sql)
    db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(chained_from - 1),))
    source = sqlite3.connect(new / "monitor.db")
    source.row_factory = sqlite3.Row
    for table in ("watches", "captures", "changes"):
        for row in source.execute(f"SELECT * FROM {table} ORDER BY rowid"):
            columns = {c[1] for c in db.execute(f"PRAGMA table_info({table})")}
            values = {
                k: row[k]
                for k in row.keys()  # noqa: SIM118
                if not k.startswith("chain_") and k in columns  # later columns come later
            }
            marks = ", ".join("?" * len(values))
            db.execute(
                f"INSERT INTO {table} ({', '.join(values)}) VALUES ({marks})", list(values.values())
            )
    db.close()


def test_an_old_data_directory_is_chained_in_place(data_dir: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    _old_data_dir(data_dir, old)
    with open_store(old) as store:
        entries = list(store.chain_entries())
    # Original order: each capture, then the change recorded with it; then the note.
    order = [(e.record_type, e.row["id"]) for e in entries]
    assert order == [("capture", i) for i in range(1, 7)] + [("change", 1), ("note", 1)]
    note = json.loads(entries[-1].row["detail"])
    assert entries[-1].row["kind"] == "upgrade" and note["records"] == 7
    # Same rows, same chain as if they had been chained when written.
    with open_store(data_dir) as store:
        fresh = {(e.record_type, e.row["id"]): e.stored_hash for e in store.chain_entries()}
    assert all(
        fresh[key] == e.stored_hash for key, e in zip(order, entries, strict=False) if key in fresh
    )
    result = run_cli("--data-dir", str(old), "verify")
    assert result.code == 0, result.out
    assert run_script(old).returncode == 0
    # Opening again changes nothing; new checks extend the chain after the note.
    with open_store(old) as store:
        assert [e.stored_hash for e in store.chain_entries()] == [e.stored_hash for e in entries]
    from monitor.demo import run_demo

    run_demo(str(old), echo=lambda _line: None, languages=False)
    assert run_cli("--data-dir", str(old), "verify").code == 0


def test_a_row_written_around_the_chain_is_refused(data_dir: Path) -> None:
    db = sqlite3.connect(data_dir / "monitor.db")
    try:
        db.execute(
            "INSERT INTO captures (watch, url, fetched_at, outcome) VALUES ('w', 'u', 't', 'ok')"
        )
    except sqlite3.IntegrityError as error:
        assert "must be chained" in str(error)
    else:
        raise AssertionError("an unchained capture was accepted")
