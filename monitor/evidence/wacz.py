"""WACZ 1.1.1 (Webrecorder): the WARC, a CDXJ index, a pages list and a signed manifest.

Layout of the zip (every entry stored, not deflated, so replay tools can seek)::

    archive/data.warc.gz        the WARC export (see warc.py)
    indexes/index.cdx           CDXJ index (webrecorder's cdxj-indexer, sorted on disk)
    pages/pages.jsonl           one page per HTTP response
    monitor/evidence.json       chain format, the newest signed checkpoint, and the
                                statement by which the data directory's Ed25519 key
                                vouches for the WACZ signing key
    datapackage.json            Frictionless data package: every file's SHA-256 and size
    datapackage-digest.json     SHA-256 of datapackage.json, signed (WACZ signing spec,
                                anonymous signature: ECDSA P-384, what ReplayWeb.page checks)

Everything streams through temporary files: memory stays bounded for any history.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cdxj_indexer.main import CDXJIndexer

from .. import __version__
from . import chain
from .checkpoint import Checkpoint
from .keys import KeyRing
from .warc import ExportStats, write_warc

WACZ_VERSION = "1.1.1"
_CHUNK = 1 << 20


def _copy_into(archive: zipfile.ZipFile, name: str, source: Path) -> dict[str, Any]:
    """Store a file in the zip uncompressed; returns its datapackage resource entry."""
    digest = hashlib.sha256()
    size = 0
    info = zipfile.ZipInfo(name, date_time=datetime.now(UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    with source.open("rb") as reader, archive.open(info, "w", force_zip64=True) as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            writer.write(chunk)
    return {
        "name": Path(name).name.lower(),
        "path": name,
        "hash": f"sha256:{digest.hexdigest()}",
        "bytes": size,
    }


def _write_bytes(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=datetime.now(UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    archive.writestr(info, data)


def _index(warc: Path, out: Path) -> None:
    with out.open("w", encoding="utf-8") as handle:
        CDXJIndexer(
            output=handle,
            inputs=[str(warc)],
            sort=True,
            filename="data.warc.gz",
            records="response,revisit,resource",
        ).process_all()


def evidence_statement(ring: KeyRing, checkpoint: Checkpoint | None) -> dict[str, Any]:
    """What a WACZ or bundle says about the keys and the chain (no secret)."""
    return {
        "chain_format": chain.FORMAT,
        "public_key": ring.public_key_b64(),
        "public_key_pem": ring.public_key_pem(),
        "wacz_key_binding": ring.wacz_binding(),
        "checkpoint": checkpoint.to_export() if checkpoint else None,
    }


def write_wacz(
    out_path: Path,
    rows: Iterable[Mapping[str, Any]],
    read_blob: Callable[[str], bytes],
    ring: KeyRing,
    checkpoint: Checkpoint | None,
    title: str = "monitor export",
) -> ExportStats:
    """Write a signed WACZ of the given capture rows."""
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    software = f"monitor {__version__}"
    with tempfile.TemporaryDirectory(prefix="monitor-wacz-") as work:
        root = Path(work)
        warc_path, pages_path, index_path = (
            root / "data.warc.gz",
            root / "pages.jsonl",
            root / "index.cdx",
        )
        with warc_path.open("wb") as warc_out, pages_path.open("w", encoding="utf-8") as pages:
            pages.write(
                json.dumps({"format": "json-pages-1.0", "id": "pages", "title": title}) + "\n"
            )

            def page(entry: dict[str, Any]) -> None:
                ts = entry["ts"]
                line = {"id": hashlib.sha256(f"{entry['url']} {ts}".encode()).hexdigest()[:32]}
                line.update(url=entry["url"], ts=ts, title=entry["title"])
                pages.write(json.dumps(line, ensure_ascii=False) + "\n")

            stats = write_warc(
                warc_out, rows, read_blob, ring.public_key_b64(), "data.warc.gz", on_page=page
            )
        _index(warc_path, index_path)
        statement = json.dumps(evidence_statement(ring, checkpoint), indent=2, sort_keys=True)
        (root / "evidence.json").write_text(statement, encoding="utf-8")
        tmp_out = out_path.with_name(f".{out_path.name}.part")
        with zipfile.ZipFile(tmp_out, "w", allowZip64=True) as archive:
            resources = [
                _copy_into(archive, "archive/data.warc.gz", warc_path),
                _copy_into(archive, "indexes/index.cdx", index_path),
                _copy_into(archive, "pages/pages.jsonl", pages_path),
                _copy_into(archive, "monitor/evidence.json", root / "evidence.json"),
            ]
            package = {
                "profile": "data-package",
                "wacz_version": WACZ_VERSION,
                "title": title,
                "created": created,
                "modified": created,
                "software": software,
                "resources": resources,
            }
            package_bytes = json.dumps(package, indent=2).encode("utf-8")
            package_hash = f"sha256:{hashlib.sha256(package_bytes).hexdigest()}"
            digest = {
                "path": "datapackage.json",
                "hash": package_hash,
                "signedData": {
                    "hash": package_hash,
                    "created": created,
                    "software": software,
                    "signature": ring.sign_wacz(package_hash.encode("utf-8")),
                    "publicKey": ring.wacz_public_spki_b64(),
                },
            }
            _write_bytes(archive, "datapackage.json", package_bytes)
            _write_bytes(archive, "datapackage-digest.json", json.dumps(digest, indent=2).encode())
        tmp_out.replace(out_path)
    return stats


def write_warc_file(
    out_path: Path,
    rows: Iterable[Mapping[str, Any]],
    read_blob: Callable[[str], bytes],
    ring: KeyRing,
) -> ExportStats:
    """Write a gzipped WARC file atomically (temporary name, then rename)."""
    tmp_out = out_path.with_name(f".{out_path.name}.part")
    handle: IO[bytes]
    with tmp_out.open("wb") as handle:
        stats = write_warc(handle, rows, read_blob, ring.public_key_b64(), out_path.name)
    tmp_out.replace(out_path)
    return stats
