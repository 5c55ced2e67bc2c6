"""The evidence chain: one canonical byte string per record, and how records are linked.

Pure functions with no I/O and no dependency beyond the standard library, so that every
store (SQLite today, PostgreSQL tomorrow) and every independent checker computes the
same bytes. ``docs/evidence.md`` is the specification; this module is its reference
implementation and ``tests/evidence/test_independent_chain.py`` re-derives it from the
document alone.

A record is one capture, one change event, or one note about the chain itself (the
upgrade of a data directory that predates the chain). Records are numbered 1, 2, 3, …
in the order they were written (``seq``), across all three kinds: one global chain per
data directory. For record ``n``::

    canonical(n) = UTF-8 JSON of {"type": …, "seq": n, <the documented fields>},
                   keys sorted, no whitespace, non-ASCII characters as themselves
    digest(n)    = SHA-256(canonical(n)), as 64 lowercase hex characters
    hash(n)      = SHA-256(ASCII(hash(n-1) + digest(n))), hex;  hash(0) = "0" * 64

Linking digests rather than whole records lets a bundle prove that one record is in
the chain by listing only the 64-character digests of the records after it, without
disclosing what they say.

>>> row = {"id": 1, "kind": "upgrade", "at": "2026-01-01T00:00:00.000000Z", "detail": "{}"}
>>> canonical("note", 1, row)
b'{"at":"2026-01-01T00:00:00.000000Z","detail":{},"id":1,"kind":"upgrade","seq":1,"type":"note"}'
>>> link(GENESIS, digest(canonical("note", 1, row)))[:16]
'7baa80b0c961ce73'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FORMAT = "monitor-chain/1"
GENESIS = "0" * 64

# The documented field list of each record type (docs/evidence.md). A field that is not
# listed is not covered by the chain; adding one is a new FORMAT.
FIELDS: dict[str, tuple[str, ...]] = {
    "capture": (
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
    ),
    "change": (
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
    ),
    "note": ("id", "kind", "at", "detail"),
}

# Fields holding JSON values; a store may hand them over as JSON text (SQLite's
# columns) or already decoded (PostgreSQL's jsonb): the canonical form is the same.
JSON_FIELDS = frozenset({"headers", "redirects", "removed", "added", "flags", "detail"})

# Which table holds each record type, for stores and messages.
TABLES = {"capture": "captures", "change": "changes", "note": "chain_notes"}


_PROVENANCE = frozenset(("source", "archived_at", "archive_url", "archive_digest", "derived_from"))


def canonical(record_type: str, seq: int, row: Mapping[str, Any]) -> bytes:
    """The exact bytes a record's digest is computed over.

    >>> canonical("change", 7, {"id": 2, "watch": "w", "kind": "changed",
    ...     "detected_at": "t", "from_capture": 1, "to_capture": 3, "removed": '["维族"]',
    ...     "added": [], "flags": "[]", "detail": {"b": 1, "a": [1, "x"]}, "derived_from": None})
    b'{"added":[],"derived_from":null,"detail":{"a":[1,"x"],"b":1},"detected_at":"t","flags":[],"from_capture":1,"id":2,"kind":"changed","removed":["\\xe7\\xbb\\xb4\\xe6\\x97\\x8f"],"seq":7,"to_capture":3,"type":"change","watch":"w"}'
    """
    try:
        names = FIELDS[record_type]
    except KeyError:
        raise ValueError(f"unknown record type {record_type!r}") from None
    obj: dict[str, Any] = {"type": record_type, "seq": seq}
    for name in names:
        # Archive provenance (added later): null for a row read without those columns.
        value = row.get(name) if name in _PROVENANCE else row[name]
        if name in JSON_FIELDS and isinstance(value, str):
            value = json.loads(value)
        obj[name] = value
    text = json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def digest(canonical_bytes: bytes) -> str:
    """SHA-256 of a record's canonical bytes, hex."""
    return hashlib.sha256(canonical_bytes).hexdigest()


def link(previous_hash: str, record_digest: str) -> str:
    """The chain hash of a record: SHA-256 over the previous hash and its digest (hex text).

    >>> link(GENESIS, "0" * 64) == hashlib.sha256(b"0" * 128).hexdigest()
    True
    """
    return hashlib.sha256((previous_hash + record_digest).encode("ascii")).hexdigest()


def chain_hash(previous_hash: str, record_type: str, seq: int, row: Mapping[str, Any]) -> str:
    """The chain hash of a record given the previous record's hash (what a store writes)."""
    return link(previous_hash, digest(canonical(record_type, seq, row)))


@dataclass(frozen=True)
class Entry:
    """A stored record as a verifier sees it."""

    record_type: str
    seq: int | None  # None: the row was never chained (written around the chain)
    stored_hash: str | None
    row: Mapping[str, Any]

    @property
    def name(self) -> str:
        """How a problem line names the record, e.g. ``capture 12``."""
        return f"{self.record_type} {self.row['id']}"


@dataclass(frozen=True)
class Head:
    """Where a chain stands: the number of records and the hash of the last one."""

    seq: int
    hash: str


@dataclass
class Walk:
    """What walking the stored chain found."""

    problems: list[str]
    head: Head  # the last record's stored position and hash
    hashes: dict[int, str]  # stored hash at each position asked for (checkpoints)


def verify_entries(entries: Iterable[Entry], positions: Iterable[int] = ()) -> Walk:
    """Walk stored records in ``seq`` order and check every link.

    Each record is checked against the *stored* hash of the record before it, so one
    edited record gives one problem line naming it, not a cascade. ``positions`` are
    the chain positions whose stored hash the caller wants (to compare with signed
    checkpoints: a history rewritten and re-chained from an edited row onwards is
    consistent in itself but no longer matches what was signed).

    >>> rows = [{"id": i, "kind": "k", "at": "t", "detail": {}} for i in (1, 2)]
    >>> h1 = chain_hash(GENESIS, "note", 1, rows[0]); h2 = chain_hash(h1, "note", 2, rows[1])
    >>> walk = verify_entries([Entry("note", 1, h1, rows[0]), Entry("note", 2, h2, rows[1])], [1])
    >>> walk.problems, walk.head.seq, walk.hashes == {1: h1}
    ([], 2, True)
    >>> rows[0]["kind"] = "edited"
    >>> walk = verify_entries([Entry("note", 1, h1, rows[0]), Entry("note", 2, h2, rows[1])])
    >>> print(walk.problems[0][:60])
    note 1: its fields do not match its chain hash at position 1
    """
    wanted = set(positions)
    problems: list[str] = []
    hashes: dict[int, str] = {}
    expected_seq = 1
    previous = GENESIS
    for entry in entries:
        if entry.seq is None or entry.stored_hash is None:
            problems.append(
                f"{entry.name}: not in the evidence chain (written around it, "
                "or its chain fields erased)"
            )
            continue
        if entry.seq < expected_seq:
            problems.append(
                f"{entry.name}: chain position {entry.seq} is taken twice (a record was inserted)"
            )
            continue
        if entry.seq > expected_seq:
            missing = (
                f"record {expected_seq}"
                if entry.seq == expected_seq + 1
                else f"records {expected_seq}-{entry.seq - 1}"
            )
            problems.append(f"chain: {missing} missing before {entry.name} (rows were deleted)")
        try:
            record_digest = digest(canonical(entry.record_type, entry.seq, entry.row))
        except (KeyError, ValueError, TypeError) as error:
            problems.append(f"{entry.name}: cannot be serialised for the chain ({error})")
            record_digest = ""
        if link(previous, record_digest) != entry.stored_hash:
            problems.append(
                f"{entry.name}: its fields do not match its chain hash at position {entry.seq} "
                "(the row was edited, or rows before it were removed or inserted)"
            )
        if entry.seq in wanted:
            hashes[entry.seq] = entry.stored_hash
        previous = entry.stored_hash
        expected_seq = entry.seq + 1
    return Walk(problems, Head(expected_seq - 1, previous), hashes)
