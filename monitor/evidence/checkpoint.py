"""Signed checkpoints: "the chain had N records and its last hash was H", signed.

A checkpoint's payload is canonical JSON (ASCII, keys sorted, no whitespace)::

    {"at":"2026-01-02T03:04:05.000000Z","format":"monitor-checkpoint/1",
     "head":"<chain hash of record N>","public_key":"<Ed25519 key, base64>","seq":N}

signed with the data directory's Ed25519 key (signature in base64 beside it). One is
stored at the end of every ``monitor check`` and every few minutes during ``monitor
run``; ``monitor checkpoint export`` writes the newest as a small JSON file to publish.
Whoever kept one can later run ``monitor verify --checkpoint FILE``: an edit, deletion,
insertion or truncation of any record up to N shows, even if the whole store, its
checkpoints and its key were replaced since.

>>> import tempfile; from pathlib import Path; from .keys import KeyRing
>>> ring = KeyRing(Path(tempfile.mkdtemp()))
>>> point = sign_checkpoint(ring, 3, "ab" * 32, "2026-01-01T00:00:00.000000Z")
>>> point.seq, check_signature(point)
(3, None)
>>> check_signature(point, "AAAA" + point.public_key[4:])
'checkpoint at position 3 is signed by another key than the data directory'
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, replace
from typing import Any

from ..errors import ConfigError
from .keys import KeyRing, fingerprint, public_pem, verify_ed25519

FORMAT = "monitor-checkpoint/1"
EXPORT_FORMAT = "monitor-checkpoint-export/1"
log = logging.getLogger(__name__)


def checkpoint_payload(seq: int, head: str, at: str, public_key_b64: str) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    body = {"at": at, "format": FORMAT, "head": head, "public_key": public_key_b64, "seq": seq}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")


@dataclass(frozen=True)
class Checkpoint:
    """A signed checkpoint, as stored, exported and bundled."""

    payload: str  # canonical JSON text (ASCII): what the signature covers
    signature: str  # Ed25519, base64
    timestamp: bytes | None = None  # RFC 3161 TimeStampResp (DER), when configured
    authority: str | None = None  # the TSA's URL
    id: int | None = None  # the stored row's id

    def _field(self, name: str) -> Any:
        return json.loads(self.payload)[name]

    @property
    def seq(self) -> int:
        return int(self._field("seq"))

    @property
    def head(self) -> str:
        return str(self._field("head"))

    @property
    def at(self) -> str:
        return str(self._field("at"))

    @property
    def public_key(self) -> str:
        return str(self._field("public_key"))

    @classmethod
    def from_row(cls, row: Any) -> Checkpoint:
        return cls(
            payload=row["payload"],
            signature=row["signature"],
            timestamp=bytes(row["timestamp"]) if row["timestamp"] is not None else None,
            authority=row["authority"],
            id=row["id"],
        )

    def to_export(self) -> dict[str, Any]:
        """The published form: everything needed to check it, nothing secret."""
        return {
            "format": EXPORT_FORMAT,
            "payload": self.payload,
            "signature": self.signature,
            "public_key_pem": public_pem(self.public_key),
            "key_fingerprint": fingerprint(self.public_key),
            "timestamp": base64.b64encode(self.timestamp).decode() if self.timestamp else None,
            "timestamp_authority": self.authority,
        }

    @classmethod
    def from_export(cls, text: str, source: str = "checkpoint") -> Checkpoint:
        try:
            data = json.loads(text)
            if data.get("format") != EXPORT_FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, not {EXPORT_FORMAT!r}")
            stamp = data.get("timestamp")
            point = cls(
                payload=str(data["payload"]),
                signature=str(data["signature"]),
                timestamp=base64.b64decode(stamp) if stamp else None,
                authority=data.get("timestamp_authority"),
            )
            point.seq, point.head, point.public_key  # noqa: B018 - parse now, fail early
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ConfigError(
                f"{source} is not an exported monitor checkpoint ({error}); "
                "write one with 'monitor checkpoint export FILE'"
            ) from error
        return point


def sign_checkpoint(ring: KeyRing, seq: int, head: str, at: str) -> Checkpoint:
    payload = checkpoint_payload(seq, head, at, ring.public_key_b64())
    return Checkpoint(payload.decode("ascii"), ring.sign(payload))


def check_signature(point: Checkpoint, expected_key: str | None = None) -> str | None:
    """None when the checkpoint is well formed and its signature verifies, else why not."""
    try:
        seq, head, key = point.seq, point.head, point.public_key
        expected = checkpoint_payload(seq, head, point.at, key)
    except (ValueError, KeyError, TypeError) as error:
        return f"checkpoint {point.id or ''}: unreadable payload ({error})".replace("  ", " ")
    name = f"checkpoint at position {seq}"
    if expected != point.payload.encode("ascii", "replace"):
        return f"{name}: payload is not in canonical form (edited?)"
    if not verify_ed25519(key, expected, point.signature):
        return f"{name}: signature does not verify (payload or signature edited)"
    if expected_key is not None and key != expected_key:
        return f"{name} is signed by another key than the data directory"
    return None


def with_timestamp(point: Checkpoint, authority: str | None) -> Checkpoint:
    """Ask the configured TSA to timestamp a checkpoint; a failure is logged, not fatal."""
    if not authority:
        return point
    from .timestamp import TimestampError, request_timestamp

    try:
        token = request_timestamp(authority, point.payload.encode("ascii"))
    except TimestampError as error:
        log.warning("checkpoint at position %s not timestamped: %s", point.seq, error)
        return point
    return replace(point, timestamp=token, authority=authority)
