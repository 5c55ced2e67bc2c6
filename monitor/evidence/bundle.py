"""One self-contained evidence bundle per change, and its check without a data directory.

``monitor bundle CHANGE_ID OUT.zip`` writes (layout in docs/evidence.md)::

    VERIFY.txt                      how to check every claim with standard tools
    manifest.json                   SHA-256 of every file, the chain records, the
                                    checkpoint, the public key, witnesses
    change.json                     the change record (the JSON of `monitor changes`)
    report.html                     the self-contained HTML report
    captures/before.body            raw body of the earlier capture, as received
    captures/before.headers.json    its status, headers and redirects as recorded
    captures/after.body, captures/after.headers.json
    texts/before.json, texts/after.json   the extracted documents (stored blobs)
    texts/before.txt, texts/after.txt     their plain text
    captures.warc.gz                WARC 1.1 of both captures
    chain/digests.txt               "<position> <record digest>" for every record from
                                    the earlier capture to the checkpoint
    checkpoint/checkpoint.json      the signed checkpoint payload (exact bytes)
    checkpoint/checkpoint.sig       its Ed25519 signature (raw 64 bytes)
    checkpoint/public-key.pem       the data directory's public key
    checkpoint/timestamp.tsr        RFC 3161 timestamp of checkpoint.json (if any)

``bundle_verify.verify_bundle`` checks one with nothing but the zip.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from . import chain
from .checkpoint import Checkpoint
from .keys import fingerprint, public_pem
from .warc import write_warc

FORMAT = "monitor-bundle/1"
ROLES = ("before", "after")


class BundleError(Exception):
    """The data directory cannot back a bundle (its chain does not reach a checkpoint)."""


@dataclass(frozen=True)
class BundleSource:
    """What the bundle needs from the store, gathered by the caller (keeps I/O at the edge)."""

    change: Mapping[str, Any]  # the change row, with chain_seq / chain_hash
    change_json: dict[str, Any]  # the contract's JSON of the change
    report_html: str
    captures: dict[str, Mapping[str, Any]]  # role -> capture row (before may be missing)
    blobs: Callable[[str], bytes]
    document_text: Callable[[bytes], str]  # stored document blob -> plain text
    entries: Callable[[int], Iterable[chain.Entry]]  # chain entries from a position on
    checkpoint: Checkpoint  # the newest checkpoint, covering the change
    witnesses: list[dict[str, Any]]


def _headers_file(row: Mapping[str, Any]) -> bytes:
    headers = row["headers"]
    redirects = row["redirects"]
    return json.dumps(
        {
            "url": row["url"],
            "final_url": row["final_url"],
            "fetched_at": row["fetched_at"],
            "status": row["status"],
            "headers": json.loads(headers) if isinstance(headers, str) else headers,
            "redirects": json.loads(redirects) if isinstance(redirects, str) else redirects,
        },
        ensure_ascii=False,
        indent=2,
    ).encode("utf-8")


def _segment(source: BundleSource, start: int) -> tuple[str, list[str]]:
    """Hash before ``start``, and the digests from ``start`` to the checkpoint, each link
    checked as it is read (a bundle is never made from a broken chain)."""
    previous = chain.GENESIS if start == 1 else None
    start_hash = previous
    digests: list[str] = []
    expected = start
    for entry in source.entries(max(start - 1, 1)):
        if entry.seq is None or entry.stored_hash is None:
            continue
        if entry.seq < start:
            previous = start_hash = entry.stored_hash
            continue
        if previous is None or entry.seq != expected:
            raise BundleError(f"the chain is broken near position {expected}; run 'monitor verify'")
        record_digest = chain.digest(chain.canonical(entry.record_type, entry.seq, entry.row))
        if chain.link(previous, record_digest) != entry.stored_hash:
            raise BundleError(f"{entry.name} does not match its chain hash; run 'monitor verify'")
        digests.append(f"{entry.seq} {record_digest}")
        previous = entry.stored_hash
        expected += 1
        if entry.seq == source.checkpoint.seq:
            break
    if start_hash is None or previous != source.checkpoint.head:
        raise BundleError("the chain does not lead to the newest checkpoint; run 'monitor verify'")
    return start_hash, digests


def build_bundle(source: BundleSource, ring_public_key: str, out: Path) -> dict[str, Any]:
    """Write the bundle zip; returns its manifest."""
    files: dict[str, bytes] = {}
    records = []
    for role in ROLES:
        row = source.captures.get(role)
        if row is None:
            continue
        if row["body_sha256"]:
            files[f"captures/{role}.body"] = source.blobs(row["body_sha256"])
        files[f"captures/{role}.headers.json"] = _headers_file(row)
        if row.get("screenshot_sha256"):  # a rendered page's screenshot (fetch: browser)
            files[f"captures/{role}.screenshot.png"] = source.blobs(row["screenshot_sha256"])
        if row["text_sha256"]:
            document = source.blobs(row["text_sha256"])
            files[f"texts/{role}.json"] = document
            files[f"texts/{role}.txt"] = source.document_text(document).encode("utf-8")
        records.append((f"{role}_capture", "capture", row))
    records.append(("change", "change", source.change))
    files["change.json"] = json.dumps(source.change_json, ensure_ascii=False, indent=2).encode()
    files["report.html"] = source.report_html.encode("utf-8")
    warc = io.BytesIO()
    ordered = [source.captures[r] for r in ROLES if r in source.captures]
    write_warc(warc, ordered, source.blobs, ring_public_key, "captures.warc.gz")
    files["captures.warc.gz"] = warc.getvalue()

    chain_records = []
    for role, record_type, row in records:
        seq = row["chain_seq"]
        if seq is None:
            raise BundleError(f"{record_type} {row['id']} is not in the evidence chain")
        text = chain.canonical(record_type, seq, row)
        chain_records.append(
            {
                "role": role,
                "type": record_type,
                "id": row["id"],
                "seq": seq,
                "canonical": text.decode("utf-8"),
                "digest": chain.digest(text),
                "hash": row["chain_hash"],
            }
        )
    start = min(r["seq"] for r in chain_records)
    start_hash, digests = _segment(source, start)
    files["chain/digests.txt"] = ("\n".join(digests) + "\n").encode("ascii")
    point = source.checkpoint
    files["checkpoint/checkpoint.json"] = point.payload.encode("ascii")
    files["checkpoint/checkpoint.sig"] = base64.b64decode(point.signature)
    files["checkpoint/public-key.pem"] = public_pem(point.public_key).encode("ascii")
    if point.timestamp:
        files["checkpoint/timestamp.tsr"] = point.timestamp

    manifest = {
        "format": FORMAT,
        "software": f"monitor {__version__}",
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "change_id": source.change["id"],
        "public_key": point.public_key,
        "public_key_fingerprint": fingerprint(point.public_key),
        "chain": {
            "format": chain.FORMAT,
            "records": chain_records,
            "segment": {
                "start_seq": start - 1,
                "start_hash": start_hash,
                "digests": "chain/digests.txt",
                "end_seq": point.seq,
            },
        },
        "checkpoint": {
            "payload": point.payload,
            "signature": point.signature,
            "timestamp": "checkpoint/timestamp.tsr" if point.timestamp else None,
            "timestamp_authority": point.authority,
        },
        "witnesses": source.witnesses,
    }
    files["VERIFY.txt"] = verify_text(manifest, files).encode("utf-8")
    manifest["files"] = {
        name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())
    }
    body = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    temporary = out.with_name(f".{out.name}.part")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", body)
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    temporary.replace(out)
    return manifest


def verify_text(manifest: dict[str, Any], files: Mapping[str, bytes]) -> str:
    """VERIFY.txt: plain-words instructions, with the bundle's own values filled in."""
    records = {r["role"]: r for r in manifest["chain"]["records"]}
    segment = manifest["chain"]["segment"]
    point = manifest["checkpoint"]
    lines = [
        f"Evidence bundle for change {manifest['change_id']}, written by {manifest['software']}",
        f"on {manifest['created']}. Everything below can be checked with standard tools",
        "(sha256sum, zcat, openssl, python3); you do not need monitor. `monitor bundle",
        "--verify THIS.zip` runs all of these checks at once.",
        "",
        "1. Files are intact",
        '   Every file\'s SHA-256 is listed under "files" in manifest.json:',
        "     unzip BUNDLE.zip -d bundle && cd bundle && sha256sum captures/* texts/* change.json",
        "   and compare. The raw bodies are exactly the bytes the server sent (after",
        "   content-decoding), so their SHA-256 is the body_sha256 in the chain records:",
    ]
    for role in ROLES:
        record = records.get(f"{role}_capture")
        if record is None:
            continue
        fields = json.loads(record["canonical"])
        lines += [
            f"     sha256sum captures/{role}.body   # expect {fields['body_sha256']}",
            f"     (capture {fields['id']}, {fields['url']}, fetched {fields['fetched_at']},",
            f"      HTTP {fields['status']})",
        ]
    lines += [
        "",
        "2. Each record is what the chain says",
        "   manifest.json -> chain.records holds, for both captures and the change, the",
        "   record's canonical JSON (the exact bytes hashed), its digest and its chain hash.",
        "   digest = SHA-256 of the canonical bytes; check one with:",
        "     python3 -c \"import json,hashlib; m=json.load(open('manifest.json')); "
        "[print(r['role'], hashlib.sha256(r['canonical'].encode()).hexdigest() == r['digest']) "
        "for r in m['chain']['records']]\"",
        "   The change record's removed/added wording and flags are in its canonical JSON;",
        "   change.json and report.html show the same, readably.",
        "",
        "3. The records are linked to the signed checkpoint",
        "   chain hash(n) = SHA-256 of the text hash(n-1) followed by digest(n) (both as 64",
        "   lowercase hex characters). Starting from",
        f"     hash({segment['start_seq']}) = {segment['start_hash']}",
        f"   and applying chain/digests.txt line by line up to position {segment['end_seq']} must",
        "   give the checkpoint's head; the records above appear in digests.txt at their",
        "   positions. In a shell:",
        f"     h={segment['start_hash']}",
        '     while read n d; do h=$(printf \'%s%s\' "$h" "$d" | sha256sum | cut -c1-64); done \\',
        "       < chain/digests.txt; echo $h",
        f"   expect: {json.loads(point['payload'])['head']}",
        "",
        "4. The checkpoint is signed by the data directory's key",
        "     openssl pkeyutl -verify -pubin -inkey checkpoint/public-key.pem -rawin \\",
        "       -in checkpoint/checkpoint.json -sigfile checkpoint/checkpoint.sig",
        f"   The key's fingerprint is {manifest['public_key_fingerprint']} (SHA-256 of the raw",
        "   key, first 16 hex digits). Compare it with the fingerprint the operator",
        "   published (`monitor key` prints it): only that proves whose key it is.",
    ]
    if point["timestamp"]:
        lines += [
            "",
            "5. The checkpoint existed at the time a time-stamping authority signed",
            f"   Authority: {point['timestamp_authority']}. With its root certificate:",
            "     openssl ts -reply -in checkpoint/timestamp.tsr -text     # shows the time",
            "     openssl ts -verify -data checkpoint/checkpoint.json \\",
            "       -in checkpoint/timestamp.tsr -CAfile TSA-ROOT.pem",
        ]
    else:
        lines += ["", "5. No trusted timestamp was configured for this checkpoint."]
    lines += [
        "",
        "6. The WARC holds both captures in the standard web-archive format",
        "     python3 -m pip install warcio && warcio check -v captures.warc.gz",
        "   (its WARC-Payload-Digest is sha256 in base32: the same hash as body_sha256).",
        "",
        "7. Independent copies",
    ]
    witnesses = manifest.get("witnesses") or []
    if witnesses:
        lines.append("   Third-party archive copies recorded for this change (manifest.json):")
        for witness in witnesses:
            where = witness.get("archived_url") or witness.get("reason") or ""
            lines.append(f"     {witness.get('archive')}: {witness.get('status')} {where}")
            copy = witness.get("copy") or {}
            if copy.get("sha256") and copy.get("replay_url"):
                lines.append(f"       curl -s '{copy['replay_url']}' | sha256sum")
                lines.append(f"       fetched back by us: {copy['sha256']}: {copy.get('note')}")
    else:
        lines.append("   No third-party archive copy was recorded for these captures.")
    return "\n".join(lines) + "\n"
