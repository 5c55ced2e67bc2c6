"""Public archives on both back ends: Save Page Now witnesses and Wayback imports work the
same on a data directory and on PostgreSQL, and `monitor migrate` carries them over with
the evidence chain unchanged."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from backends import store_spec
from conftest import FAST_SETTINGS, Site, monitor_on, run_cli, write_watchlist

from archives.test_import import HISTORY
from archives.test_import import NAME as IMPORTED
from archives.test_witness import V1, V3, Setup, stub, watchlist, work
from monitor.demo.wayback import WaybackStub
from monitor.store import StoreSpec

__all__ = ["store_spec", "stub"]  # fixtures, used by name





@pytest.fixture
def archive(site: Site, stub: WaybackStub) -> WaybackStub:
    """The stub archive (Save Page Now too) with the page's archived history."""
    for timestamp, body, status, location in HISTORY:
        stub.add(site.url("/doc"), timestamp, body, status=status, location=location)
    return stub


def import_watchlist(tmp_path: Path, site: Site) -> Path:
    site.set("/doc", V3)
    return write_watchlist(
        tmp_path / "import.yaml",
        f"""
defaults:
  terms: [维族]
watches:
  - name: {IMPORTED}
    url: {site.url("/doc")}
    select: main
    ignore: ['^更新时间[:：].*$']
{FAST_SETTINGS}""",
    )


def test_a_witness_is_queued_worked_and_shown(
    store_spec: StoreSpec, tmp_path: Path, site: Site, stub: WaybackStub
) -> None:
    with store_spec.open(create=True) as store:
        setup = Setup(store, site, watchlist(tmp_path, site))  # type: ignore[arg-type]
        assert setup.check(V1) == []
        (change_id,) = setup.check(V3)
        (queued,) = store.witnesses()
        assert queued["status"] == "pending" and queued["change_id"] == change_id
        assert [w["id"] for w in store.due_witnesses(queued_time(queued))] == [queued["id"]]
        work(setup, stub)
        (done,) = store.witnesses(change_id)
        assert done["status"] == "archived" and done["job_id"].startswith("spn2-")
        copy = json.loads(done["copy"])
        assert copy["sha256_matches"] and copy["text_matches"]
        assert store.get_blob(copy["sha256"]) == V3
        with pytest.raises(ValueError, match="not a witness field"):
            store.update_witness(int(done["id"]), {"change_id": 1})
    monitor = monitor_on(store_spec)
    listed = monitor("witness", "list", "--format", "json")
    assert listed.code == 0, listed.err
    assert [(w["change_id"], w["status"]) for w in listed.json()] == [(change_id, "archived")]
    shown = monitor("diff", str(change_id), "--format", "json").json()
    assert [w["status"] for w in shown["witnesses"]] == ["archived"]
    assert shown["witnesses"][0]["copy"]["sha256_matches"] is True
    verified = monitor("verify")
    assert verified.code == 0, verified.out + verified.err


def queued_time(row: Any) -> Any:
    from monitor.model import parse_time

    return parse_time(row["next_attempt_at"])


def test_wayback_history_is_imported_with_provenance(
    store_spec: StoreSpec, tmp_path: Path, site: Site, archive: WaybackStub
) -> None:
    monitor = monitor_on(store_spec)
    path = import_watchlist(tmp_path, site)
    first = monitor("import", "wayback", IMPORTED, "--watchlist", str(path), "--limit", "2")
    assert first.code == 0 and "imported 2" in first.out, first.out + first.err
    second = monitor("import", "wayback", IMPORTED, "--watchlist", str(path))
    assert "imported 4, already had 2" in second.out, second.out + second.err
    events = monitor("changes", "--watch", IMPORTED, "--format", "json").json()
    assert [(e["kind"], e["detected_at"], e["source"]) for e in events] == [
        ("changed", "2020-12-18T08:00:00Z", "wayback"),
        ("changed", "2021-01-10T08:00:00Z", "wayback"),
    ]
    with store_spec.open() as store:
        rows = store.captures(IMPORTED)
        assert [r["archived_at"][:10] for r in rows][:2] == ["2020-11-01", "2020-12-01"]
        assert {r["source"] for r in rows} == {"wayback"}
        assert len(store.archive_urls(IMPORTED)) == 6

    # A copy found later inside a derived event's interval: the wider event is superseded.
    changed = V3.replace(b"<td>bizType</td>", b"<td>bizTypeX</td>")
    archive.add(site.url("/doc"), "20201215080000", changed)
    assert monitor("import", "wayback", IMPORTED).code == 0
    events = monitor("changes", "--watch", IMPORTED, "--format", "json").json()
    assert [e["detected_at"][:10] for e in events] == ["2020-12-15", "2020-12-18", "2021-01-10"]
    with store_spec.open() as store:
        assert store.change(1)["superseded_at"]  # still evidence, listed no more

    # Live checks go on from the archive's latest copy; the chain covers it all.
    checked = monitor("check", "--watchlist", str(path))
    assert checked.code == 0, checked.err
    assert len(monitor("changes", "--watch", IMPORTED, "--format", "json").json()) == 4
    verified = monitor("verify", "--details")
    assert verified.code == 0, verified.out + verified.err
    history = monitor("history", IMPORTED).out.splitlines()[1:]
    assert "wayback" in history[0] and "wayback" not in history[-1]


def test_migrate_carries_archive_records_and_the_same_chain(
    tmp_path: Path, site: Site, archive: WaybackStub, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = StoreSpec(str(tmp_path / "data"))
    monkeypatch.setenv("MONITOR_KEY_DIR", str(tmp_path / "data" / "keys"))  # one key for both
    on_dir = monitor_on(directory)
    path = import_watchlist(tmp_path, site)
    assert on_dir("import", "wayback", IMPORTED, "--watchlist", str(path)).code == 0
    with directory.open(create=True) as store:  # and a witnessed live change
        setup = Setup(store, site, watchlist(tmp_path, site))  # type: ignore[arg-type]
        setup.check(V1)
        setup.check(V3)
        work(setup, archive)
    archive.add(site.url("/doc"), "20201215080000", V3.replace(b"bizType", b"bizTypeX"))
    assert on_dir("import", "wayback", IMPORTED).code == 0  # supersedes one event

    blobs = str(tmp_path / "pg-blobs")
    moved = run_cli("--blobs", blobs, "migrate", "--from", directory.location, "--to", pg_url)
    assert moved.code == 0 and "copy verified" in moved.out, moved.out + moved.err
    on_pg = monitor_on(StoreSpec(pg_url, blobs))

    def same(*args: str) -> None:
        mine, theirs = on_dir(*args), on_pg(*args)
        assert theirs.code == mine.code == 0, theirs.err
        assert theirs.out == mine.out, args

    same("changes", "--format", "json")
    same("witness", "list", "--format", "json")
    same("history", IMPORTED)
    for change in on_dir("changes", "--format", "json").json():
        same("diff", str(change["id"]), "--format", "json")
    chain = [on("verify", "--details").out.split("chain: ")[1].splitlines()[0]
             for on in (on_dir, on_pg)]  # fmt: skip
    assert chain[0] == chain[1]
    again = run_cli("--blobs", blobs, "migrate", "--from", directory.location, "--to", pg_url)
    assert again.code == 0 and "copied 0 capture(s), 0 change(s)" in again.out, again.out


def test_one_witness_worker_per_store(store_spec: StoreSpec, stub: WaybackStub) -> None:
    monitor = monitor_on(store_spec)
    store_spec.open(create=True).close()  # an empty store
    if not store_spec.postgres:
        from monitor.run.lock import checking_lock

        busy: Any = checking_lock(store_spec.location, "witness work")
    else:
        store: Any = store_spec.open()
        busy = store.witness_lock()
    with busy:
        refused = monitor("witness", "work")
        assert refused.code == 2 and "witness" in refused.err, refused.err
    if store_spec.postgres:
        store.close()
    worked = monitor("witness", "work")
    assert worked.code == 0 and "submitted 0" in worked.out, worked.out + worked.err


def test_the_queue_is_worked_beside_queued_checks(
    pg_url: str, tmp_path: Path, site: Site, stub: WaybackStub
) -> None:
    """`monitor run` on PostgreSQL queues checks; the witnesses of the changes its workers
    record are worked in the background. (On a data directory `monitor run` works the
    queue in its own loop: test_witness.py.)"""
    store_spec = StoreSpec(pg_url, str(tmp_path / "blobs"))
    from monitor.config.watchlist import load_watchlist
    from monitor.run.witnesses import witnesses_in_background

    with store_spec.open(create=True) as store:
        setup = Setup(store, site, watchlist(tmp_path, site))  # type: ignore[arg-type]
        setup.check(V1)
        (change_id,) = setup.check(V3)  # as a worker would record it
    settings = load_watchlist(setup.path).settings  # witness: wayback
    with witnesses_in_background(store_spec, settings, every=0.05), store_spec.open() as store:
        deadline = time.monotonic() + 30
        while store.witnesses(change_id)[0]["copy"] is None:
            assert time.monotonic() < deadline, store.witnesses(change_id)
            time.sleep(0.1)
    with store_spec.open() as store:
        (done,) = store.witnesses(change_id)
    assert done["status"] == "archived" and json.loads(done["copy"])["sha256_matches"]
