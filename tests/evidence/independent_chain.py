#!/usr/bin/env python3
"""Recompute a monitor data directory's evidence chain from docs/evidence.md alone.

Independent of monitor: only the standard library (sqlite3, json, hashlib). Usage::

    python3 independent_chain.py DATA_DIR

Prints the number of records and the head hash, checks every stored chain hash and
that every stored checkpoint's head is the chain hash at its position; exits 1 on any
mismatch. (Signatures are checked with openssl; see VERIFY.txt.)
"""

import hashlib
import json
import sqlite3
import sys

# docs/evidence.md, "Records": the fields of each record type, in any order.
FIELDS = {
    "capture": [
        "id",
        "watch",
        "url",
        "fetched_at",
        "status",
        "final_url",
        "headers",
        "redirects",
        "body_sha256",
        "body_size",
        "text_sha256",
        "encoding",
        "elapsed_ms",
        "attempts",
        "outcome",
        "error_class",
        "error",
        "fetched_with",
        "source_capture",
        "screenshot_sha256",
        "source",
        "archived_at",
        "archive_url",
        "archive_digest",
    ],
    "change": [
        "id",
        "watch",
        "kind",
        "detected_at",
        "from_capture",
        "to_capture",
        "removed",
        "added",
        "flags",
        "detail",
        "derived_from",
    ],
    "note": ["id", "kind", "at", "detail"],
}
TABLES = {"capture": "captures", "change": "changes", "note": "chain_notes"}
JSON_VALUED = {"headers", "redirects", "removed", "added", "flags", "detail"}


def canonical(kind, row):
    record = {"type": kind, "seq": row["chain_seq"]}
    for name in FIELDS[kind]:
        value = row[name]
        record[name] = json.loads(value) if name in JSON_VALUED else value
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def main(data_dir):
    db = sqlite3.connect(f"file:{data_dir}/monitor.db?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    records = []
    for kind, table in TABLES.items():
        records += [(row["chain_seq"], kind, row) for row in db.execute(f"SELECT * FROM {table}")]
    records.sort(key=lambda r: r[0])
    previous, bad, hashes = "0" * 64, 0, {}
    for position, (seq, kind, row) in enumerate(records, start=1):
        digest = hashlib.sha256(canonical(kind, row)).hexdigest()
        current = hashlib.sha256((previous + digest).encode("ascii")).hexdigest()
        if seq != position or current != row["chain_hash"]:
            print(f"mismatch at {kind} {row['id']} (position {seq})")
            bad += 1
        hashes[seq] = previous = current
    for point in db.execute("SELECT seq, head FROM checkpoints"):
        if hashes.get(point["seq"]) != point["head"]:
            print(f"checkpoint at position {point['seq']} does not match the chain")
            bad += 1
    print(f"{len(records)} records, head {previous}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
