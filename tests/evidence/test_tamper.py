"""The tamper table: every way of editing the evidence behind the tool's back is caught.

Each case edits a copy of a real data directory the way an attacker with file access
would (triggers dropped, foreign keys off, blobs rewritten), then ``monitor verify``
must exit 3 and print a line naming what was tampered with.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_cli
from evidence_fixtures import data_dir_fixture, demo_master_fixture, raw_db_fixture  # noqa: F401

from monitor.evidence import chain
from monitor.evidence.chain import FIELDS

Tamper = Callable[[Path, sqlite3.Connection], None]


def verify(data_dir: Path, *args: str) -> tuple[int, str]:
    result = run_cli("--data-dir", str(data_dir), "verify", "--details", *args)
    return result.code, result.out + result.err


def _blob(data_dir: Path, digest: str) -> Path:
    return data_dir / "blobs" / digest[:2] / f"{digest}.gz"


def _body(db: sqlite3.Connection, capture_id: int) -> str:
    return str(
        db.execute("SELECT body_sha256 FROM captures WHERE id = ?", (capture_id,)).fetchone()[0]
    )


ZH = "aliyun-cloud-shield-face-api"


def _zh_capture(db: sqlite3.Connection, n: int) -> int:
    """The id of the zh watch's n-th capture (1-based). The demo checks both watches at
    once, so which of them gets which id depends on which finishes first."""
    rows = db.execute("SELECT id FROM captures WHERE watch = ? ORDER BY id", (ZH,)).fetchall()
    return int(rows[n - 1][0])


def flip_one_byte(data_dir: Path, db: sqlite3.Connection) -> None:
    path = _blob(data_dir, _body(db, _zh_capture(db, 2)))
    data = bytearray(gzip.decompress(path.read_bytes()))
    data[len(data) // 2] ^= 0x01
    path.chmod(0o644)
    path.write_bytes(gzip.compress(bytes(data)))


def delete_blob(data_dir: Path, db: sqlite3.Connection) -> None:
    _blob(data_dir, _body(db, 4)).unlink()


def point_at_other_blob(data_dir: Path, db: sqlite3.Connection) -> None:
    db.execute(
        "UPDATE captures SET body_sha256 = ? WHERE id = ?",
        (_body(db, _zh_capture(db, 1)), _zh_capture(db, 2)),
    )


def delete_capture(data_dir: Path, db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM captures WHERE id = 3")


def insert_capture(data_dir: Path, db: sqlite3.Connection) -> None:
    row = dict(db.execute("SELECT * FROM captures WHERE id = 3").fetchone())
    row.update(id=100, error="inserted")  # keeps the chain position and hash it copied
    columns = ", ".join(row)
    db.execute(
        f"INSERT INTO captures ({columns}) VALUES ({', '.join('?' * len(row))})", list(row.values())
    )


def insert_and_rechain(data_dir: Path, db: sqlite3.Connection) -> None:
    """The careful forger: insert a capture mid-chain and recompute every later hash."""
    row = dict(db.execute("SELECT * FROM captures WHERE id = 3").fetchone())
    db.execute("UPDATE captures SET chain_seq = chain_seq + 1 WHERE chain_seq >= 4")
    db.execute("UPDATE changes SET chain_seq = chain_seq + 1 WHERE chain_seq >= 4")
    row.update(id=100, chain_seq=4, fetched_at="2020-12-10T00:00:00.000000Z")
    db.execute(
        f"INSERT INTO captures ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
        list(row.values()),
    )
    _rechain(db)


def _rechain(db: sqlite3.Connection) -> None:
    entries = []
    for kind, table in chain.TABLES.items():
        for r in db.execute(f"SELECT * FROM {table}"):
            entries.append((r["chain_seq"], kind, table, dict(r)))
    previous = chain.GENESIS
    for seq, kind, table, row in sorted(entries, key=lambda e: e[0]):
        previous = chain.chain_hash(previous, kind, seq, row)
        db.execute(f"UPDATE {table} SET chain_hash = ? WHERE id = ?", (previous, row["id"]))


def edit_and_rechain(data_dir: Path, db: sqlite3.Connection) -> None:
    """Soften the removal and recompute the whole chain: only the signatures object."""
    db.execute("UPDATE changes SET removed = '[]', flags = '[]' WHERE id = 1")
    _rechain(db)


def truncate_all(data_dir: Path, db: sqlite3.Connection) -> None:
    """Remove the last check's rows and every checkpoint that covered them."""
    db.execute("DELETE FROM changes WHERE id = 1")
    db.execute("DELETE FROM captures WHERE id >= 5")
    db.execute("DELETE FROM checkpoints WHERE seq > 4")


def truncate_rows(data_dir: Path, db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM changes WHERE id = 1")
    db.execute("DELETE FROM captures WHERE id = 6")


def edit_checkpoint(data_dir: Path, db: sqlite3.Connection) -> None:
    payload = db.execute("SELECT payload FROM checkpoints WHERE id = 1").fetchone()[0]
    db.execute(
        "UPDATE checkpoints SET payload = ? WHERE id = 1", (payload.replace('"seq":2', '"seq":3'),)
    )


def erase_chain_fields(data_dir: Path, db: sqlite3.Connection) -> None:
    db.execute("UPDATE captures SET chain_seq = NULL, chain_hash = NULL WHERE id = 5")


def replace_key(data_dir: Path, db: sqlite3.Connection) -> None:
    for name in ("signing-key.pem", "signing-key.pub.pem"):
        (data_dir / "keys" / name).unlink()
    run_cli("--data-dir", str(data_dir), "key")  # a new key: old checkpoints are not its


CASES: list[tuple[str, Tamper, str]] = [
    ("blob altered by one byte", flip_one_byte, "capture {zh2}: body blob"),
    ("blob deleted", delete_blob, "is missing"),
    ("capture pointed at another existing blob", point_at_other_blob, "capture {zh2}: its fields"),
    ("row deleted mid-chain", delete_capture, "record 3 missing before capture 4"),
    ("row inserted mid-chain", insert_capture, "capture 100: chain position 3 is taken twice"),
    ("row inserted and chain recomputed", insert_and_rechain, "history before it was rewritten"),
    ("row edited and chain recomputed", edit_and_rechain, "checkpoint 3 (position 7)"),
    ("rows and checkpoints truncated", truncate_all, None),  # caught only by an export below
    ("last rows truncated", truncate_rows, "signed 7 records but the chain has only 5"),
    ("checkpoint edited", edit_checkpoint, "signature does not verify"),
    ("row taken out of the chain", erase_chain_fields, "capture 5: not in the evidence chain"),
    ("signing key replaced", replace_key, "signed by another key"),
]


@pytest.mark.parametrize(("name", "tamper", "expected"), CASES, ids=[c[0] for c in CASES])
def test_tampering_is_caught(
    data_dir: Path, raw_db: sqlite3.Connection, name: str, tamper: Tamper, expected: str | None
) -> None:
    exported = data_dir.parent / "published-checkpoint.json"
    assert run_cli("--data-dir", str(data_dir), "checkpoint", "--out", str(exported)).code == 0
    assert verify(data_dir, "--checkpoint", str(exported))[0] == 0
    tamper(data_dir, raw_db)
    code, out = verify(data_dir, "--checkpoint", str(exported))
    assert code == 3, out
    if expected is not None:
        assert expected.format(zh2=_zh_capture(raw_db, 2)) in out, out
    else:  # without the published checkpoint, this one would pass
        assert "signed 7 records but the chain has only 4" in out, out


FIELD_CASES = [("capture", 4, f) for f in FIELDS["capture"]] + [
    ("change", 1, f) for f in FIELDS["change"]
]


def _edited(value: object, field: str) -> object:
    if field in chain.JSON_FIELDS:
        decoded = json.loads(str(value))
        return json.dumps([*decoded, "x"] if isinstance(decoded, list) else {**decoded, "x": 1})
    if field == "id":
        return int(str(value)) + 100  # renumbered to an unused id
    if value is None or isinstance(value, int):
        return (value or 0) + 1
    return str(value) + "x"


@pytest.mark.parametrize(("record", "row_id", "field"), FIELD_CASES, ids=lambda v: str(v))
def test_any_field_edit_is_caught(
    data_dir: Path, raw_db: sqlite3.Connection, record: str, row_id: int, field: str
) -> None:
    table = chain.TABLES[record]
    value = raw_db.execute(f"SELECT {field} FROM {table} WHERE id = ?", (row_id,)).fetchone()[0]
    raw_db.execute(f"UPDATE {table} SET {field} = ? WHERE id = ?", (_edited(value, field), row_id))
    code, out = verify(data_dir)
    assert code == 3, out
    shown_id = row_id + 100 if field == "id" else row_id
    assert f"{record} {shown_id}: its fields do not match its chain hash" in out, out


def test_untouched_store_verifies(data_dir: Path) -> None:
    code, out = verify(data_dir)
    assert code == 0, out
    assert "chain: 7 records" in out and "checkpoints: 3" in out and out.endswith("store OK\n")


def test_appending_through_the_tool_keeps_verifying(data_dir: Path) -> None:
    """Records added after a published checkpoint extend the chain; it still verifies."""
    exported = data_dir.parent / "cp.json"
    run_cli("--data-dir", str(data_dir), "checkpoint", "--out", str(exported))
    from monitor.demo import run_demo

    run_demo(str(data_dir), echo=lambda _line: None, languages=False)  # three more checks
    code, out = verify(data_dir, "--checkpoint", str(exported))
    assert code == 0, out
