"""The bundle of one change: complete, checkable with standard tools, and any edit fails."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_cli
from evidence_fixtures import data_dir_fixture, demo_master_fixture  # noqa: F401

from monitor.evidence.checkpoint import sign_checkpoint
from monitor.evidence.keys import KeyRing, fingerprint, public_pem

Files = dict[str, bytes]


def make_bundle(data_dir: Path, out: Path) -> Files:
    result = run_cli("--data-dir", str(data_dir), "bundle", "1", str(out))
    assert result.code == 0, result.out + result.err
    with zipfile.ZipFile(out) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write(path: Path, files: Files, relist: bool = True) -> None:
    manifest = json.loads(files["manifest.json"])
    if relist:  # a careful forger keeps the file list consistent
        manifest["files"] = {
            n: hashlib.sha256(d).hexdigest() for n, d in files.items() if n != "manifest.json"
        }
    files = {**files, "manifest.json": json.dumps(manifest).encode()}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


def check(path: Path, *options: str) -> tuple[int, str]:
    result = run_cli("bundle", "--verify", str(path), *options)
    return result.code, result.out + result.err


def test_bundle_is_complete_and_verifies(data_dir: Path, tmp_path: Path) -> None:
    files = make_bundle(data_dir, tmp_path / "b.zip")
    expected = {
        "VERIFY.txt", "manifest.json", "change.json", "report.html", "captures.warc.gz",
        "captures/before.body", "captures/after.body", "captures/before.headers.json",
        "captures/after.headers.json", "texts/before.json", "texts/after.json",
        "texts/before.txt", "texts/after.txt", "chain/digests.txt",
        "checkpoint/checkpoint.json", "checkpoint/checkpoint.sig", "checkpoint/public-key.pem",
    }  # fmt: skip
    assert set(files) == expected
    assert "是否是维族" in files["texts/before.txt"].decode()
    assert "是否是维族" not in files["texts/after.txt"].decode()
    change = json.loads(files["change.json"])
    assert any(f["term"] == "是否是维族" and f["direction"] == "removed" for f in change["flags"])
    manifest = json.loads(files["manifest.json"])
    assert [r["role"] for r in manifest["chain"]["records"]] == [
        "before_capture", "after_capture", "change",
    ]  # fmt: skip
    key = fingerprint(manifest["public_key"])
    assert key in files["VERIFY.txt"].decode()
    code, out = check(tmp_path / "b.zip")
    assert code == 0 and f"bundle OK, signed by key {key}" in out, out
    assert check(tmp_path / "b.zip", "--key", key)[0] == 0
    code, out = check(tmp_path / "b.zip", "--key", "0123456789abcdef")
    assert code == 3 and "not the expected 0123456789abcdef" in out


def test_verify_needs_no_data_directory(data_dir: Path, tmp_path: Path) -> None:
    make_bundle(data_dir, tmp_path / "b.zip")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATA_DIR"}
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "bundle", "--verify", str(tmp_path / "b.zip")],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(elsewhere.iterdir()) == []  # no data directory was created


def test_standard_tools_check_what_verify_txt_says(data_dir: Path, tmp_path: Path) -> None:
    files = make_bundle(data_dir, tmp_path / "b.zip")
    root = tmp_path / "unpacked"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    manifest = json.loads(files["manifest.json"])
    segment = manifest["chain"]["segment"]
    loop = (
        f"h={segment['start_hash']}; while read n d; do "
        'h=$(printf \'%s%s\' "$h" "$d" | sha256sum | cut -c1-64); done < chain/digests.txt; '
        "echo $h"
    )
    head = json.loads(manifest["checkpoint"]["payload"])["head"]
    done = subprocess.run(["bash", "-c", loop], cwd=root, capture_output=True, text=True)
    assert done.stdout.strip() == head
    body = subprocess.run(["sha256sum", "captures/after.body"], cwd=root, capture_output=True)
    after = json.loads(manifest["chain"]["records"][1]["canonical"])
    assert body.stdout.decode().split()[0] == after["body_sha256"]
    if shutil.which("openssl"):
        verified = subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "checkpoint/public-key.pem",
             "-rawin", "-in", "checkpoint/checkpoint.json",
             "-sigfile", "checkpoint/checkpoint.sig"],
            cwd=root, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert "Signature Verified Successfully" in verified.stdout, verified.stdout


def _flip_body(files: Files) -> None:
    body = bytearray(files["captures/before.body"])
    body[100] ^= 1
    files["captures/before.body"] = bytes(body)


def _soften_change(files: Files) -> None:
    change = json.loads(files["change.json"])
    change["removed"], change["flags"] = [], []
    files["change.json"] = json.dumps(change).encode()


def _edit_record(files: Files) -> None:
    manifest = json.loads(files["manifest.json"])
    record = manifest["chain"]["records"][2]
    record["canonical"] = record["canonical"].replace("是否是维族", "是否")
    files["manifest.json"] = json.dumps(manifest).encode()


def _drop_digest(files: Files) -> None:
    lines = files["chain/digests.txt"].decode().splitlines()
    files["chain/digests.txt"] = ("\n".join(lines[:-2] + lines[-1:]) + "\n").encode()


def _extra_file(files: Files) -> None:
    files["captures/extra.body"] = b"planted"


def _edit_checkpoint(files: Files) -> None:
    manifest = json.loads(files["manifest.json"])
    manifest["checkpoint"]["payload"] = manifest["checkpoint"]["payload"].replace(
        '"seq":', '"seq":1'
    )
    files["manifest.json"] = json.dumps(manifest).encode()


CASES: list[tuple[str, Callable[[Files], None], bool, str]] = [
    ("raw body altered", _flip_body, False, "captures/before.body: SHA-256 does not match"),
    ("raw body altered, file list redone", _flip_body, True, "does not hash to the capture"),
    ("change softened", _soften_change, True, "change.json: removed differs"),
    ("chained record edited", _edit_record, True, "canonical record does not hash"),
    ("digest dropped", _drop_digest, True, "do not lead from the records"),
    ("file planted", _extra_file, False, "captures/extra.body: not listed"),
    ("checkpoint edited", _edit_checkpoint, True, "signature does not verify"),
]


@pytest.mark.parametrize(("name", "edit", "relist", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bundle_tampering_is_caught(
    data_dir: Path, tmp_path: Path, name: str, edit: Callable[[Files], None], relist: bool,
    expected: str,
) -> None:  # fmt: skip
    files = make_bundle(data_dir, tmp_path / "b.zip")
    edit(files)
    write(tmp_path / "forged.zip", files, relist)
    code, out = check(tmp_path / "forged.zip")
    assert code == 3, out
    assert expected in out, out


def test_a_bundle_resigned_with_another_key_fails_only_against_the_published_key(
    data_dir: Path, tmp_path: Path
) -> None:
    files = make_bundle(data_dir, tmp_path / "b.zip")
    manifest = json.loads(files["manifest.json"])
    published = manifest["public_key_fingerprint"]
    point = json.loads(manifest["checkpoint"]["payload"])
    forger = KeyRing(tmp_path / "forger")
    forged = sign_checkpoint(forger, point["seq"], point["head"], point["at"])
    manifest["public_key"] = forger.public_key_b64()
    manifest["public_key_fingerprint"] = fingerprint(forger.public_key_b64())
    manifest["checkpoint"].update(payload=forged.payload, signature=forged.signature)
    files.update(
        {
            "manifest.json": json.dumps(manifest).encode(),
            "checkpoint/checkpoint.json": forged.payload.encode(),
            "checkpoint/checkpoint.sig": base64.b64decode(forged.signature),
            "checkpoint/public-key.pem": public_pem(forger.public_key_b64()).encode(),
        }
    )
    write(tmp_path / "forged.zip", files)
    code, out = check(tmp_path / "forged.zip")
    assert code == 0 and published not in out  # consistent, but another key's
    code, out = check(tmp_path / "forged.zip", "--key", published)
    assert code == 3 and f"not the expected {published}" in out


def test_bad_input(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "not.zip").write_bytes(b"nothing")
    assert check(tmp_path / "not.zip")[0] == 3
    assert run_cli("bundle", "x", str(tmp_path / "o.zip")).code == 2
    result = run_cli("--data-dir", str(data_dir), "bundle", "99", str(tmp_path / "o.zip"))
    assert result.code == 2 and "no change with id 99" in result.err
    result = run_cli("--data-dir", str(tmp_path / "d"), "bundle", "1", str(tmp_path / "o.zip"))
    assert result.code == 2 and "no monitor data" in result.err and not (tmp_path / "d").exists()


def test_a_member_inflating_to_hundreds_of_megabytes_is_hashed_not_held(
    data_dir: Path, tmp_path: Path
) -> None:
    # A bundle is someone else's file: a capture that inflates to 200 MB (200 KB in
    # the zip) is checked a megabyte at a time, never held whole.
    files = make_bundle(data_dir, tmp_path / "b.zip")
    del files["captures/before.body"]
    write(tmp_path / "bomb.zip", files, relist=False)  # still listed, with its real hash
    with (
        zipfile.ZipFile(tmp_path / "bomb.zip", "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open("captures/before.body", "w", force_zip64=True) as member,
    ):
        for _ in range(200):
            member.write(bytes(1 << 20))
    assert (tmp_path / "bomb.zip").stat().st_size < 2_000_000
    tracemalloc.start()
    try:
        code, out = check(tmp_path / "bomb.zip")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 3 and "captures/before.body: SHA-256 does not match" in out, out
    assert peak < 64 * 1024 * 1024, f"{peak / 2**20:.0f} MB held"
