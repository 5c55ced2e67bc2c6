"""The evidence operations the commands call: keys, checkpoints, and verifying a store.

>>> import tempfile
>>> from monitor.store import open_store
>>> with open_store(tempfile.mkdtemp()) as store:
...     make_checkpoint(store) is None, verify_store(store).problems
(True, [])
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..model import iso, utc_now
from ..store.base import EvidenceStore
from .chain import verify_entries
from .checkpoint import Checkpoint, check_signature, sign_checkpoint, with_timestamp
from .keys import KEY_DIR_ENV, KeyRing, fingerprint

if TYPE_CHECKING:  # certificates only when time-stamping: cryptography.x509 costs ~19 ms
    from cryptography import x509


def key_ring(store: EvidenceStore) -> KeyRing:
    """The signing keys of the store's data directory (``$MONITOR_KEY_DIR`` overrides)."""
    override = os.environ.get(KEY_DIR_ENV)
    if override:
        return KeyRing(Path(override))
    root = Path(store.location)
    if not root.is_dir():
        raise ConfigError(
            f"the store at {store.location} has no data directory for its signing key; "
            f"set {KEY_DIR_ENV} to a directory only you can read"
        )
    return KeyRing(root / "keys")


def make_checkpoint(
    store: EvidenceStore, ring: KeyRing | None = None, authority: str | None = None
) -> Checkpoint | None:
    """Sign (and, if an authority is set, timestamp) where the chain stands; store it.

    None when the chain is empty (nothing to vouch for yet).
    """
    head = store.chain_head()
    if head.seq == 0:
        return None
    ring = ring or key_ring(store)
    point = with_timestamp(sign_checkpoint(ring, head.seq, head.hash, iso(utc_now())), authority)
    point_id = store.add_checkpoint(
        {
            "seq": point.seq,
            "head": point.head,
            "at": point.at,
            "payload": point.payload,
            "signature": point.signature,
            "timestamp": point.timestamp,
            "authority": point.authority,
        }
    )
    return Checkpoint(point.payload, point.signature, point.timestamp, point.authority, point_id)


def latest_checkpoint(store: EvidenceStore) -> Checkpoint | None:
    rows = store.checkpoints()
    return Checkpoint.from_row(rows[-1]) if rows else None


@dataclass
class Verification:
    """What ``monitor verify`` found: problems (exit 3 if any) and what was checked."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _check_point(
    point: Checkpoint,
    name: str,
    head_seq: int,
    hashes: dict[int, str],
    expected_key: str | None,
    roots: list[x509.Certificate] | None,
) -> tuple[list[str], str | None]:
    problems = []
    problem = check_signature(point, expected_key)
    if problem:
        return [f"{name}: {problem}"], None
    if point.seq > head_seq:
        problems.append(
            f"{name}: signed {point.seq} records but the chain has only {head_seq} "
            "(records were removed from the end)"
        )
    elif hashes.get(point.seq) != point.head:
        problems.append(
            f"{name}: the chain hash at position {point.seq} is not the one signed on "
            f"{point.at} (history before it was rewritten)"
        )
    note = None
    if point.timestamp:
        from .timestamp import check_timestamp

        found = check_timestamp(point.timestamp, point.payload.encode("ascii"), roots)
        if found.problem:
            problems.append(f"{name}: {found.problem}")
        else:
            trust = "trusted root" if found.trusted else "root not checked (--tsa-roots)"
            note = f"{name}: timestamped {found.time} by {found.authority} ({trust})"
    return problems, note


def verify_store(
    store: EvidenceStore,
    exported: list[tuple[str, Checkpoint]] | None = None,
    roots: list[x509.Certificate] | None = None,
) -> Verification:
    """SQLite integrity, every blob, the whole chain, every checkpoint and timestamp."""
    result = Verification(problems=store.verify())
    stored = [Checkpoint.from_row(row) for row in store.checkpoints()]
    exported = exported or []
    ring = key_ring(store)
    key = ring.public_key_b64() if ring.exists() else None
    if stored and key is None:
        result.problems.append(
            f"keys: checkpoints exist but the signing key is gone from {ring.directory}"
        )
    positions = [p.seq for p in stored] + [p.seq for _, p in exported]
    walk = verify_entries(store.chain_entries(), positions)
    result.problems += walk.problems
    result.notes.append(f"chain: {walk.head.seq} records, head {walk.head.hash}")
    for point in stored:
        name = f"checkpoint {point.id} (position {point.seq})"
        problems, note = _check_point(point, name, walk.head.seq, walk.hashes, key, roots)
        result.problems += problems
        if note:
            result.notes.append(note)
    for source, point in exported:
        # An exported checkpoint is checked against its own key: it may predate a key
        # change, and its value is precisely that it was kept outside this store.
        name = f"exported checkpoint {source} (position {point.seq})"
        problems, note = _check_point(point, name, walk.head.seq, walk.hashes, None, roots)
        result.problems += problems
        if not problems:
            result.notes.append(f"{name}: the chain still holds what it signed on {point.at}")
        if key is not None and point.public_key != key:
            result.notes.append(
                f"{name}: signed by key {fingerprint(point.public_key)}, "
                f"not this data directory's {fingerprint(key)}"
            )
        if note:
            result.notes.append(note)
    if stored:
        newest = stored[-1]
        result.notes.append(
            f"checkpoints: {len(stored)}, newest at position {newest.seq} signed {newest.at}"
        )
    elif walk.head.seq:
        result.notes.append("checkpoints: none yet (one is signed at the end of every check)")
    if key:
        result.notes.append(f"key: ed25519 {fingerprint(key)}")
    return result
