"""Checking a change bundle with nothing but the zip (``monitor bundle --verify``).

See bundle.py for the layout and docs/evidence.md for what each check means.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

from . import chain
from .bundle import ROLES
from .checkpoint import Checkpoint, check_signature
from .keys import fingerprint


def bundle_key(path: Path) -> str | None:
    """The fingerprint of the key a bundle says signed it (None if unreadable)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return fingerprint(_manifest(archive)["public_key"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def _manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    if archive.getinfo("manifest.json").file_size > _READ_WHOLE_LIMIT:
        raise ValueError("manifest.json is larger than any manifest monitor writes")
    manifest: dict[str, Any] = json.loads(archive.read("manifest.json"))
    return manifest


def verify_bundle(path: Path, key: str | None = None) -> list[str]:
    """Check a bundle on its own; one line per problem (empty: everything verifies).

    ``key``: the fingerprint (or base64 public key) the signer published; without it,
    a bundle re-signed by someone else's key verifies, and only the printed
    fingerprint tells.
    """
    problems = _verify_bundle(path)
    found = bundle_key(path)
    if key is not None and found is not None and key not in (found, _manifest_key(path)):
        problems.append(f"signed by key {found}, not the expected {key}")
    return problems


def _manifest_key(path: Path) -> str | None:
    with zipfile.ZipFile(path) as archive:
        return str(_manifest(archive)["public_key"])


# Files a bundle holds that are read whole (the manifest, checkpoint, chain digests,
# change): none comes near this. The captures and texts, as large as the pages were,
# are only hashed, a megabyte at a time: a bundle is someone else's file, and one
# member inflating to gigabytes (a "zip bomb") must not take the verifier's memory.
_READ_WHOLE_LIMIT = 64 * 1024 * 1024
_HASHED_ONLY = ("captures/", "texts/")


def _verify_bundle(path: Path) -> list[str]:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        return [f"{path}: not a readable zip ({error})"]
    with archive:
        try:
            digests, contents = _read_members(archive)
            manifest = json.loads(contents["manifest.json"])
        except (KeyError, ValueError, zipfile.BadZipFile, EOFError) as error:
            return [f"{path}: no readable manifest.json ({error})"]
    try:
        return _verify_manifest(manifest, digests, contents)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        return [f"manifest.json is malformed ({type(error).__name__}: {error})"]


def _read_members(archive: zipfile.ZipFile) -> tuple[dict[str, str], dict[str, bytes]]:
    """Every member's SHA-256, and the bytes of the small ones the checks read."""
    digests: dict[str, str] = {}
    contents: dict[str, bytes] = {}
    for info in archive.infolist():
        if info.is_dir():
            continue
        keep = info.file_size <= _READ_WHOLE_LIMIT and not info.filename.startswith(_HASHED_ONLY)
        digest, parts = hashlib.sha256(), []
        with archive.open(info) as member:  # reads no more than the size the zip declares
            while chunk := member.read(1 << 20):
                digest.update(chunk)
                if keep:
                    parts.append(chunk)
        digests[info.filename] = digest.hexdigest()
        if keep:
            contents[info.filename] = b"".join(parts)
    return digests, contents


def _verify_manifest(
    manifest: dict[str, Any], digests: dict[str, str], contents: dict[str, bytes]
) -> list[str]:
    problems: list[str] = []
    listed: dict[str, str] = manifest["files"]
    for name, expected in listed.items():
        if name not in digests:
            problems.append(f"{name}: listed in the manifest but missing")
        elif digests[name] != expected:
            problems.append(f"{name}: SHA-256 does not match the manifest")
    for name in digests:
        if name != "manifest.json" and name not in listed:
            problems.append(f"{name}: not listed in the manifest")

    point_data = manifest["checkpoint"]
    point = Checkpoint(point_data["payload"], point_data["signature"])
    problem = check_signature(point, manifest["public_key"])
    if problem:
        problems.append(problem)
    if contents.get("checkpoint/checkpoint.json") != point.payload.encode("ascii"):
        problems.append("checkpoint/checkpoint.json differs from the manifest's checkpoint")
    if base64.b64encode(contents.get("checkpoint/checkpoint.sig", b"")).decode() != point.signature:
        problems.append("checkpoint/checkpoint.sig differs from the manifest's signature")
    stamp = point_data.get("timestamp")
    if stamp:
        from .timestamp import check_timestamp

        found = check_timestamp(contents.get(stamp, b""), point.payload.encode("ascii"))
        if found.problem:
            problems.append(f"{stamp}: {found.problem}")

    problems += _verify_chain(manifest, contents, point)
    problems += _verify_records_against_files(manifest, digests, contents)
    return problems


def _verify_chain(
    manifest: dict[str, Any], contents: dict[str, bytes], point: Checkpoint
) -> list[str]:
    problems = []
    segment = manifest["chain"]["segment"]
    digests: dict[int, str] = {}
    order: list[int] = []
    for line in contents.get(segment["digests"], b"").decode("ascii", "replace").splitlines():
        seq_text, _, value = line.partition(" ")
        digests[int(seq_text)] = value
        order.append(int(seq_text))
    start = int(segment["start_seq"])
    if order != list(range(start + 1, start + 1 + len(order))):
        problems.append("chain/digests.txt: positions are not consecutive")
    hashes: dict[int, str] = {}
    current = segment["start_hash"]
    for seq in order:
        current = chain.link(current, digests[seq])
        hashes[seq] = current
    if not order or order[-1] != point.seq or current != point.head:
        problems.append(
            "chain: the digests do not lead from the records to the signed checkpoint's head"
        )
    for record in manifest["chain"]["records"]:
        name = f"{record['type']} {record['id']}"
        text = record["canonical"].encode("utf-8")
        fields = json.loads(text)
        if fields.get("seq") != record["seq"] or fields.get("type") != record["type"]:
            problems.append(f"{name}: canonical record names another position or type")
        if chain.digest(text) != record["digest"]:
            problems.append(f"{name}: canonical record does not hash to its digest")
        if digests.get(record["seq"]) != chain.digest(text):
            problems.append(f"{name}: not at position {record['seq']} of the chain")
        if hashes.get(record["seq"]) != record["hash"]:
            problems.append(f"{name}: chain hash does not match position {record['seq']}")
    return problems


def _verify_records_against_files(
    manifest: dict[str, Any], digests: dict[str, str], contents: dict[str, bytes]
) -> list[str]:
    problems = []
    records = {r["role"]: json.loads(r["canonical"]) for r in manifest["chain"]["records"]}
    for role in ROLES:
        fields = records.get(f"{role}_capture")
        if fields is None:
            continue
        for stored, name in (
            ("body_sha256", f"captures/{role}.body"),
            ("text_sha256", f"texts/{role}.json"),
            ("screenshot_sha256", f"captures/{role}.screenshot.png"),
        ):
            if fields.get(stored) is None:
                continue
            if digests.get(name) != fields[stored]:
                problems.append(f"{name}: does not hash to the capture record's {stored}")
    change = records.get("change")
    try:
        shown = json.loads(contents.get("change.json", b"{}"))
    except ValueError:
        shown = {}
    if change is not None:
        for key in ("kind", "removed", "added", "flags", "from_capture", "to_capture"):
            if shown.get(key) != change.get(key):
                problems.append(f"change.json: {key} differs from the chained change record")
    return problems
