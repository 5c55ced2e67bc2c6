"""WARC and WACZ exports: standard tools accept them, bytes round-trip, memory stays flat."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import tracemalloc
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import run_cli
from evidence_fixtures import data_dir_fixture, demo_master_fixture  # noqa: F401
from warcio.archiveiterator import ArchiveIterator

from monitor.evidence.keys import binding_payload, verify_ed25519, verify_wacz_signature
from monitor.model import Outcome
from monitor.store import CaptureRecord, open_store

BIN = Path(sys.executable).parent


def tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / name), *args], capture_output=True, text=True, check=False)


def export(data_dir: Path, kind: str, out: Path, *options: str) -> None:
    result = run_cli("--data-dir", str(data_dir), "export", kind, str(out), *options)
    assert result.code == 0, result.out + result.err


def responses(path: Path) -> list[tuple[str, bytes, str, str]]:
    """(target URI, payload, payload digest, WARC-Date) of every non-hop response."""
    found = []
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response" and record.http_headers.get_statuscode() == "200":
                found.append(
                    (
                        record.rec_headers.get_header("WARC-Target-URI"),
                        record.content_stream().read(),
                        record.rec_headers.get_header("WARC-Payload-Digest"),
                        record.rec_headers.get_header("WARC-Date"),
                    )
                )
    return found


def test_warc_round_trip_gives_the_stored_bytes(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.warc.gz"
    export(data_dir, "warc", out)
    with open_store(data_dir) as store:
        captures = list(store.iter_captures())
        stored = [store.get_blob(c["body_sha256"]) for c in captures]
    found = responses(out)
    assert [payload for _, payload, _, _ in found] == stored
    for (_, payload, digest, date), capture in zip(found, captures, strict=True):
        sha = hashlib.sha256(payload).hexdigest()
        assert sha == capture["body_sha256"]
        assert digest == "sha256:" + base64.b32encode(bytes.fromhex(sha)).decode()
        assert date == capture["fetched_at"]
    assert tool("warcio", "check", "-v", str(out)).returncode == 0
    index = tool("warcio", "index", str(out))
    assert index.returncode == 0 and index.stdout.count('"warc-type": "response"') == 6


def test_warc_metadata_carries_the_chain(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.warc.gz"
    export(data_dir, "warc", out)
    with out.open("rb") as stream:
        records = list(ArchiveIterator(stream))
    info = records[0]
    assert info.rec_type == "warcinfo"
    with out.open("rb") as stream:
        metas = [
            json.loads(r.content_stream().read())
            for r in ArchiveIterator(stream)
            if r.rec_type == "metadata"
        ]
    with open_store(data_dir) as store:
        hashes = {c["id"]: c["chain_hash"] for c in store.iter_captures()}
    assert [m["chain"]["hash"] for m in metas] == list(hashes.values())
    assert all(json.loads(m["chain"]["canonical"])["type"] == "capture" for m in metas)


def test_warc_filters(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "one.warc.gz"
    export(data_dir, "warc", out, "--watch", "aliyun-cloud-shield-face-api")
    assert len(responses(out)) == 3
    export(data_dir, "warc", out, "--until", "2000-01-01")
    assert responses(out) == []
    bad = run_cli("--data-dir", str(data_dir), "export", "warc", str(out), "--watch", "nope")
    assert bad.code == 2 and "no watch named 'nope'" in bad.err


def test_wacz_validates_and_is_signed(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.wacz"
    export(data_dir, "wacz", out)
    validated = tool("wacz", "validate", "-f", str(out))
    assert validated.returncode == 0 and "is valid" in validated.stdout, validated.stdout
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert all(archive.getinfo(n).compress_type == zipfile.ZIP_STORED for n in names)
        package = archive.read("datapackage.json")
        digest = json.loads(archive.read("datapackage-digest.json"))
        evidence = json.loads(archive.read("monitor/evidence.json"))
        warc = archive.read("archive/data.warc.gz")
    assert digest["hash"] == "sha256:" + hashlib.sha256(package).hexdigest()
    signed = digest["signedData"]
    assert verify_wacz_signature(signed["publicKey"], signed["hash"].encode(), signed["signature"])
    assert not verify_wacz_signature(signed["publicKey"], b"sha256:other", signed["signature"])
    binding = evidence["wacz_key_binding"]
    assert binding["payload"].encode() == binding_payload(
        evidence["public_key"], signed["publicKey"]
    )
    assert verify_ed25519(evidence["public_key"], binding["payload"].encode(), binding["signature"])
    assert evidence["checkpoint"]["format"] == "monitor-checkpoint-export/1"
    (tmp_path / "inner.warc.gz").write_bytes(warc)
    assert len(responses(tmp_path / "inner.warc.gz")) == 6


def test_no_private_key_in_any_export(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    export(data_dir, "warc", out / "a.warc.gz")
    export(data_dir, "wacz", out / "a.wacz")
    assert run_cli("--data-dir", str(data_dir), "bundle", "1", str(out / "b.zip")).code == 0
    keys = [(data_dir / "keys" / n).read_bytes() for n in ("signing-key.pem", "wacz-key.pem")]
    secrets = [b"".join(key.splitlines()[1:-1]) for key in keys]  # the base64 body
    for path in out.iterdir():
        blobs = [path.read_bytes()]
        if path.suffix in (".wacz", ".zip"):
            with zipfile.ZipFile(path) as archive:
                blobs += [archive.read(name) for name in archive.namelist()]
        for blob in blobs:
            assert b"PRIVATE KEY" not in blob
            assert not any(secret in blob for secret in secrets)


@pytest.mark.slow
def test_export_streams_in_bounded_memory(tmp_path: Path) -> None:
    """64 MB of distinct incompressible bodies export with a few MB of Python memory."""
    data = tmp_path / "data"
    with open_store(data) as store:
        store.ensure_watches([("big", "http://127.0.0.1/big", {})])
        for i in range(32):
            body = os.urandom(2 * 1024 * 1024)
            digest = store.put_blob(body)
            with store.recording() as writer:
                writer.add_capture(
                    CaptureRecord(
                        watch="big",
                        url="http://127.0.0.1/big",
                        fetched_at=datetime(2026, 1, 1, 0, i, tzinfo=UTC),
                        outcome=Outcome.OK,
                        status=200,
                        final_url="http://127.0.0.1/big",
                        headers=(("Content-Type", "application/octet-stream"),),
                        body_sha256=digest,
                        body_size=len(body),
                    )
                )
    from monitor.evidence.exporting import export_archive

    for kind in ("warc", "wacz"):
        with open_store(data) as store:
            tracemalloc.start()
            stats = export_archive(store, kind, tmp_path / f"big.{kind}")
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert stats.responses == 32 and stats.bytes == 64 * 1024 * 1024
        assert peak < 16 * 1024 * 1024, f"{kind}: peak {peak / 1e6:.1f} MB"
