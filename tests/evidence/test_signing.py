"""Keys, checkpoints at the end of checks and during runs, and RFC 3161 timestamps
against a local time-stamping authority (OpenSSL's, on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FAST_SETTINGS, Site, run_cli, write_watchlist
from evidence_fixtures import data_dir_fixture, demo_master_fixture  # noqa: F401
from local_tsa import LocalTSA

from monitor.evidence.checkpoint import Checkpoint
from monitor.evidence.timestamp import check_timestamp, request_timestamp
from monitor.store import open_store


@pytest.fixture(name="tsa")
def tsa_fixture() -> Iterator[LocalTSA]:
    authority = LocalTSA()
    yield authority
    authority.close()


def watchlist(tmp_path: Path, site: Site, extra_settings: str = "") -> Path:
    site.set("/a", "<main><p>是否是维族</p></main>")
    return write_watchlist(
        tmp_path / "w.yaml",
        f"watches:\n  - name: a\n    url: {site.url('/a')}\n{FAST_SETTINGS}{extra_settings}",
    )


def test_key_is_created_once_private_and_never_printed(data_dir: Path) -> None:
    data = data_dir
    shutil.rmtree(data / "keys")
    first = run_cli("--data-dir", str(data), "key", "--format", "json")
    again = run_cli("--data-dir", str(data), "key")
    assert first.code == 0 and again.code == 0
    info = json.loads(first.out)
    assert info["public_key"] in again.out and info["fingerprint"] in again.out
    private = (data / "keys" / "signing-key.pem").read_bytes()
    assert b"PRIVATE KEY" in private and b"PRIVATE" not in (first.out + again.out).encode()
    assert os.stat(data / "keys" / "signing-key.pem").st_mode & 0o777 == 0o600
    assert os.stat(data / "keys").st_mode & 0o777 == 0o700


def test_a_readable_private_key_is_refused(data_dir: Path) -> None:
    data = data_dir
    (data / "keys" / "signing-key.pem").chmod(0o644)
    result = run_cli("--data-dir", str(data), "key")
    assert result.code == 1 and "chmod 600" in result.err


def test_key_directory_from_the_environment(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.rmtree(data_dir / "keys")
    monkeypatch.setenv("MONITOR_KEY_DIR", str(tmp_path / "elsewhere"))
    assert run_cli("--data-dir", str(data_dir), "key").code == 0
    assert (tmp_path / "elsewhere" / "signing-key.pem").exists()
    assert not (data_dir / "keys").exists()


def test_every_check_ends_with_a_checkpoint(tmp_path: Path, site: Site) -> None:
    path = watchlist(tmp_path, site)
    data = tmp_path / "data"
    for _ in range(2):
        assert run_cli("--data-dir", str(data), "check", "--watchlist", str(path)).code == 0
    with open_store(data) as store:
        points = [Checkpoint.from_row(r) for r in store.checkpoints()]
        head = store.chain_head()
    assert [p.seq for p in points] == [1, 2] and points[-1].head == head.hash
    assert points[0].timestamp is None  # off unless configured: no network call


def test_run_signs_checkpoints_periodically_and_at_stop(tmp_path: Path, site: Site) -> None:
    from monitor.check import check_session, thresholds
    from monitor.config.watchlist import load_watchlist
    from monitor.fetch.http import FetchPolicy
    from monitor.run.scheduler import Runner

    loaded = load_watchlist(watchlist(tmp_path, site))

    async def main() -> list[int]:
        with open_store(tmp_path / "data") as store:
            policy = FetchPolicy.from_settings(loaded.settings)
            async with check_session(store, policy, thresholds(loaded.settings)) as checker:
                runner = Runner(
                    checker, store, loaded.watches, startup_spread=0, checkpoint_every=0.2
                )
                task = asyncio.create_task(runner.run())
                for _ in range(100):
                    await asyncio.sleep(0.05)
                    if store.checkpoints():
                        break
                runner.stopping.set()
                await task
            return [r["seq"] for r in store.checkpoints()]

    seqs = asyncio.run(main())
    assert seqs and seqs[0] >= 1  # signed while running, no duplicate at stop
    assert len(seqs) == len(set(seqs))


def test_timestamps_from_a_local_authority(tmp_path: Path, site: Site, tsa: LocalTSA) -> None:
    path = watchlist(tmp_path, site, f"  timestamp_authority: {tsa.url}\n")
    data = tmp_path / "data"
    assert run_cli("--data-dir", str(data), "check", "--watchlist", str(path)).code == 0
    assert tsa.requests == 1
    result = run_cli(
        "--data-dir", str(data), "verify", "--details", "--tsa-roots", str(tsa.root_pem)
    )
    assert result.code == 0 and "by CN=monitor test TSA (trusted root)" in result.out
    result = run_cli("--data-dir", str(data), "verify", "--details")
    assert result.code == 0 and "root not checked" in result.out
    # The stored token is what OpenSSL checks, too.
    with open_store(data) as store:
        point = Checkpoint.from_row(store.checkpoints()[-1])
    assert point.timestamp is not None
    (tmp_path / "cp.json").write_bytes(point.payload.encode())
    (tmp_path / "cp.tsr").write_bytes(point.timestamp)
    done = subprocess.run(
        ["openssl", "ts", "-verify", "-data", "cp.json", "-in", "cp.tsr",
         "-CAfile", str(tsa.root_pem)],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "Verification: OK" in done.stdout, done.stdout + done.stderr


def test_a_forged_or_foreign_timestamp_is_reported(
    data_dir: Path, tsa: LocalTSA, tmp_path: Path
) -> None:
    token = request_timestamp(tsa.url, b"some other payload")
    assert check_timestamp(token, b"some other payload").problem is None
    assert "other data" in str(check_timestamp(token, b"the checkpoint").problem)
    broken = bytearray(token)
    broken[-10] ^= 0xFF
    assert check_timestamp(bytes(broken), b"some other payload").problem
    other = LocalTSA()  # another root: not trusted
    try:
        found = check_timestamp(token, b"some other payload", [other.root])
        assert "not from a trusted root" in str(found.problem)
    finally:
        other.close()
    exported = tmp_path / "cp.json"
    run_cli("--data-dir", str(data_dir), "checkpoint", "--tsa", tsa.url, "--out", str(exported))
    document = json.loads(exported.read_text())
    assert document["timestamp"] and document["timestamp_authority"] == tsa.url
    document["timestamp"] = base64.b64encode(token).decode()  # someone else's token
    exported.write_text(json.dumps(document))
    result = run_cli("--data-dir", str(data_dir), "verify", "--checkpoint", str(exported))
    assert result.code == 3 and "the timestamp is for other data" in result.out


def test_an_unreachable_authority_does_not_fail_the_check(
    tmp_path: Path, site: Site, tsa: LocalTSA
) -> None:
    tsa.fail = True
    path = watchlist(tmp_path, site, f"  timestamp_authority: {tsa.url}\n")
    result = run_cli("--data-dir", str(tmp_path / "data"), "check", "--watchlist", str(path))
    assert result.code == 0
    with open_store(tmp_path / "data") as store:
        rows = store.checkpoints()
    assert len(rows) == 1 and rows[0]["timestamp"] is None


def test_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    result = run_cli("--data-dir", str(tmp_path / "d"), "verify", "--checkpoint", str(bad))
    assert result.code == 2 and "not an exported monitor checkpoint" in result.err
    open_store(tmp_path / "d").close()  # a store with no record yet
    result = run_cli("--data-dir", str(tmp_path / "d"), "checkpoint")
    assert result.code == 2 and "nothing to sign yet" in result.err
    wl = write_watchlist(
        tmp_path / "w.yaml",
        "watches:\n  - name: a\n    url: https://x/\nsettings:\n  timestamp_authority: ftp://x\n",
    )
    result = run_cli("watchlist", "validate", str(wl))
    assert result.code == 2 and "timestamp_authority" in result.err
