"""Blob directories are fsynced in groups, and still before any row that names a blob.

The SQLite store defers each blob's directory fsync to the next write transaction
(store/blobs.py). These tests pin the guarantee that makes this safe: every blob a check
wrote is durable (file and directory entry fsynced) before the transaction that records
the check commits, also when several threads check at once; and a process killed
between writing its blobs and committing its rows leaves a consistent store.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
from pathlib import Path

import pytest
from conftest import PYTHON, Site

from monitor.check import Checker
from monitor.config.watchlist import Watch
from monitor.fetch.http import FetchPolicy, HttpFetcher
from monitor.model import Outcome, utc_now
from monitor.store import Store, blobs
from monitor.store.base import CaptureRecord
from monitor.store.blobs import BlobStore


class Journal:
    """Blob writes, directory fsyncs and commits, in order, with the thread of each.

    A blob is logged when its directory is handed to the pending set (after its link,
    before any fsync round can see it); an fsync is logged when it starts and when it
    ends. A blob is durable once an fsync of its directory that started after it has
    ended; the commit of the thread that wrote it must come after that.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, store: Store) -> None:
        self.events: list[tuple[str, int, str, int]] = []  # kind, thread, directory, start
        self._lock = threading.Lock()
        original_fsync, original_add = blobs._fsync_directory, blobs._PendingDirectories.add

        def fsync_directory(directory: Path) -> None:
            started = self._log("syncing", str(directory))
            original_fsync(directory)
            self._log("synced", str(directory), started)

        def add(pending: blobs._PendingDirectories, directory: Path) -> None:
            self._log("blob", str(directory))
            original_add(pending, directory)

        def trace(statement: str) -> None:
            if statement.strip().upper() == "COMMIT":
                self._log("commit", "")

        monkeypatch.setattr(blobs, "_fsync_directory", fsync_directory)
        monkeypatch.setattr(blobs._PendingDirectories, "add", add)
        store._db.set_trace_callback(trace)

    def _log(self, kind: str, directory: str, start: int = -1) -> int:
        with self._lock:
            self.events.append((kind, threading.get_ident(), directory, start))
            return len(self.events) - 1

    def unsynced_at_commit(self) -> list[str]:
        """Directories a thread wrote a blob into that no fsync starting after the write
        had finished before that thread's next commit (must be none)."""
        waiting: dict[int, dict[str, int]] = {}  # thread -> directory -> event index
        late: list[str] = []
        for index, (kind, thread, directory, start) in enumerate(self.events):
            if kind == "blob":
                waiting.setdefault(thread, {})[directory] = index
            elif kind == "synced":
                for pending in waiting.values():
                    if pending.get(directory, start) < start:
                        del pending[directory]
            elif kind == "commit":
                mine = waiting.pop(thread, {})
                late += [f"{d} (written at {i}, commit at {index})" for d, i in mine.items()]
        return late

    def count(self, kind: str) -> int:
        return sum(1 for event in self.events if event[0] == kind)


def page(i: int, version: int) -> str:
    paragraphs = "".join(f"<p>Section {j} of page {i}, version {version}.</p>" for j in range(40))
    return f"<html><body><main><h1>Page {i}</h1>{paragraphs}</main></body></html>"


def test_concurrent_checks_commit_only_durable_blobs(
    tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    watches = [Watch(name=f"p{i}", url=site.url(f"/p{i}"), select="main") for i in range(24)]
    with Store(tmp_path / "data") as store:
        journal = Journal(monkeypatch, store)

        async def check_all() -> list[Outcome]:
            async with HttpFetcher(FetchPolicy(per_host=8, host_delay=0.0)) as fetcher:
                checker = Checker(store, fetcher)
                try:
                    return [r.outcome for r in await checker.check_all(watches)]
                finally:
                    checker.close()

        for version in range(2):  # a first capture, then every page's text changed
            for i in range(len(watches)):
                site.set(f"/p{i}", page(i, version))
            assert set(asyncio.run(check_all())) == {Outcome.OK}
        assert store.verify() == []
    assert journal.count("blob") == 2 * 2 * len(watches)  # raw and text, both rounds
    assert journal.count("commit") > 2 * len(watches)
    assert journal.unsynced_at_commit() == []


@pytest.mark.parametrize("deferred, fsyncs_at_put", [(False, 1), (True, 0)])
def test_directory_fsync_is_deferred_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deferred: bool, fsyncs_at_put: int
) -> None:
    synced: list[Path] = []
    original = blobs._fsync_directory
    monkeypatch.setattr(blobs, "_fsync_directory", lambda d: (synced.append(d), original(d)))
    store = BlobStore(tmp_path, defer_directory_sync=deferred)
    digest = store.put(b"evidence")
    assert len(synced) == fsyncs_at_put
    store.sync()
    assert synced == [store.path(digest).parent]  # exactly once either way
    store.sync()  # nothing pending: no new fsync
    assert synced == [store.path(digest).parent]


def test_threads_share_rounds_of_directory_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[Path] = []
    gate = threading.Barrier(8)
    original = blobs._fsync_directory

    def slow_fsync(directory: Path) -> None:
        synced.append(directory)
        original(directory)

    monkeypatch.setattr(blobs, "_fsync_directory", slow_fsync)
    store = BlobStore(tmp_path, defer_directory_sync=True)
    written: list[Path] = []

    def one(n: int) -> None:
        for round_number in range(5):
            digest = store.put(f"blob {n} {round_number}".encode())
            written.append(store.path(digest).parent)
            gate.wait()  # all eight threads wrote before any syncs
            store.sync()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(written) <= set(synced)
    assert len(synced) <= len(set(written)) + 5 * 8 // 2  # far fewer than one per blob + sync


CHILD = """
import os, sys
from monitor.model import Outcome, utc_now
from monitor.store import Store
from monitor.store.base import CaptureRecord
from monitor.store.blobs import BlobStore
stage = sys.argv[2]
store = Store(sys.argv[1])
store.ensure_watches([("w", "https://example.invalid/", {})])
digest = store.put_blob(b"the body " * 1000)
if stage == "after blobs":
    print("ready", flush=True)
    os.read(0, 1)  # killed here
record = CaptureRecord(watch="w", url="https://example.invalid/", fetched_at=utc_now(),
                       outcome=Outcome.OK, status=200, body_sha256=digest, body_size=9000)
with store.recording() as writer:
    writer.add_capture(record)
    print("ready", flush=True)
    os.read(0, 1)  # killed here, before the commit
"""


@pytest.mark.parametrize("stage", ["after blobs", "inside the transaction"])
def test_killed_between_blob_write_and_row_commit(tmp_path: Path, stage: str) -> None:
    data = tmp_path / "data"
    child = subprocess.Popen(
        [PYTHON, "-c", CHILD, str(data), stage],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n", child.stderr and child.stderr.read()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    with Store(data) as store:
        assert store.verify() == []
        assert store.captures("w") == []  # nothing committed, nothing half-committed
        digest = store.put_blob(b"the body " * 1000)  # the orphan blob is reused as is
        record = CaptureRecord(
            watch="w",
            url="https://example.invalid/",
            fetched_at=utc_now(),
            outcome=Outcome.OK,
            status=200,
            body_sha256=digest,
            body_size=9000,
        )
        with store.recording() as writer:
            writer.add_capture(record)
        assert len(store.captures("w")) == 1
        assert store.verify() == []


def test_blobs_without_a_row_are_synced_when_the_store_closes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[Path] = []
    original = blobs._fsync_directory
    monkeypatch.setattr(blobs, "_fsync_directory", lambda d: (synced.append(d), original(d)))
    store = Store(tmp_path / "data")
    digest = store.put_blob(b"a screenshot nobody recorded")
    assert synced == []  # deferred: no transaction yet
    store.close()
    assert synced == [store.blobs.path(digest).parent]
