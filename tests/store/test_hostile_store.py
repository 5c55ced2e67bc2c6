"""Unlucky operators (issue 9): a read-only data directory, a full disk, two checkers.

Each table row is one hostile situation and what must happen:

* read-only evidence (a copy on a read-only mount, a directory handed to someone else):
  every read command works and no file in the directory changes (bytes, mtime, mode),
  none is created; an old schema is refused with advice, never migrated;
* a full disk: the check is recorded as an ``error`` with a clear reason (or, when even
  that cannot be written, said as "not recorded" with exit status 1), no traceback, no
  temporary file left behind;
* two checks of one watch racing: one edit gives one ``changed`` event; the store itself
  refuses an event compared against a reference that has moved (both back ends).

The tests run as root in CI, where file modes do not stop writes: read commands run in
a subprocess that cannot override file permissions (the capabilities CAP_DAC_OVERRIDE,
CAP_DAC_READ_SEARCH and CAP_FOWNER dropped from its bounding set before it starts, so
root keeps only the owner's rights: r-x on an a-w directory). A sanity row proves that
the sandbox cannot write before anything is trusted to it.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import FAST_SETTINGS, Site, run_cli, write_watchlist
from test_contract import T0, Backend, capture, open_backend

from monitor.analysis.events import EventDraft, WatchState
from monitor.check import Checker
from monitor.config.watchlist import Watch
from monitor.errors import StoreError
from monitor.model import Capture, EventKind, Outcome, WatchStatus
from monitor.store import SQLiteStore, open_store, opening
from monitor.store import blobs as blobs_module
from monitor.store.failures import StaleReferenceError, StorageFullError
from monitor.store.migrations import LATEST

PYTHON = sys.executable
_PR_CAPBSET_DROP = 24
_CAPS_THAT_BYPASS_MODES = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER


def _without_override() -> None:
    """preexec_fn: this process (root or not) obeys file modes from now on."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in _CAPS_THAT_BYPASS_MODES:
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run_monitor(
    data: Path, *args: str, preexec: Callable[[], None] | None = _without_override
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MONITOR_CONTACT": "tests@example.org", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [PYTHON, "-m", "monitor", "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        preexec_fn=preexec,
    )


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every file and directory under root: content hash, mtime (ns) and mode."""
    found: dict[str, tuple[str, int, int]] = {}
    for path in sorted([root, *root.rglob("*")]):
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        found[str(path.relative_to(root))] = (digest, info.st_mtime_ns, info.st_mode)
    return found


def make_read_only(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)


def make_writable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)


def page(version: int) -> str:
    rows = "".join(f"<p>条款 {i}: 版本 {version if i == 3 else 0}</p>" for i in range(6))
    return f"<html><head><title>Policy</title></head><body><main>{rows}</main></body></html>"


# -- read-only evidence --------------------------------------------------------------


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Data directories in four states, all a-w: a clean copy, a copy with a
    write-ahead log and its index (copied while a connection was open), the same
    without the index (-shm), and one whose schema is older than this monitor's."""
    from monitor.demo import Pages, serve

    root = tmp_path_factory.mktemp("evidence")
    pages = Pages()
    server = serve(pages)
    try:
        site = Site(pages, f"http://127.0.0.1:{server.server_address[1]}")
        data = root / "data"
        watchlist = write_watchlist(
            root / "w.yaml", f"watches:\n  - name: p0\n    url: {site.url('/p')}\n{FAST_SETTINGS}"
        )
        for version in (1, 2):
            site.set("/p", page(version))
            done = run_cli("--data-dir", str(data), "check", "--watchlist", str(watchlist))
            assert done.code == 0, done.err
        dirs = {"clean": root / "clean"}
        shutil.copytree(data, dirs["clean"])
        # A third check while another connection holds the log open (no checkpoint at
        # its close): its change (id 2) is only in monitor.db-wal when copied.
        holder = sqlite3.connect(data / "monitor.db")
        holder.execute("PRAGMA wal_autocheckpoint=0")
        holder.execute("SELECT count(*) FROM captures").fetchone()
        site.set("/p", page(3))
        done = run_cli("--data-dir", str(data), "check", "--watchlist", str(watchlist))
        assert done.code == 0, done.err
        dirs["wal"] = root / "wal"
        shutil.copytree(data, dirs["wal"])
        holder.close()
        assert (dirs["wal"] / "monitor.db-wal").stat().st_size > 0
        dirs["wal-no-shm"] = root / "wal-no-shm"
        shutil.copytree(dirs["wal"], dirs["wal-no-shm"])
        (dirs["wal-no-shm"] / "monitor.db-shm").unlink()
        dirs["old-schema"] = root / "old-schema"
        shutil.copytree(dirs["clean"], dirs["old-schema"])
        old = sqlite3.connect(dirs["old-schema"] / "monitor.db")
        old.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(LATEST - 1),))
        old.commit()
        old.close()
    finally:
        server.shutdown()
        server.server_close()
    for directory in dirs.values():
        make_read_only(directory)
    yield dirs
    for directory in dirs.values():
        make_writable(directory)


def test_the_sandbox_cannot_write(evidence: dict[str, Path]) -> None:
    """Without this, every read-only row below could pass by writing."""
    target = evidence["clean"] / "probe"
    code = f"open({str(target)!r}, 'w')"
    done = subprocess.run(
        [PYTHON, "-c", code], capture_output=True, text=True, preexec_fn=_without_override
    )
    assert done.returncode != 0 and "Permission denied" in done.stderr
    assert not target.exists()


READ_COMMANDS: list[tuple[str, tuple[str, ...], str]] = [
    # (case, arguments, text the output must contain)
    ("changes", ("changes",), "p0"),
    ("changes json", ("changes", "--format", "json"), '"watch": "p0"'),
    ("history", ("history", "p0"), "ok"),
    ("show", ("show", "p0"), "条款 3"),
    ("diff", ("diff", "1"), "版本 [+2]"),
    ("verify", ("verify",), "store OK"),
    ("search", ("search", "条款"), "p0"),
    ("export warc", ("export", "warc", "{out}/x.warc.gz"), "capture(s)"),
    ("bundle", ("bundle", "1", "{out}/change-1.zip"), "bundle of change 1"),
    ("witness list", ("witness", "list", "--format", "json"), "[]"),
]


@pytest.mark.parametrize("state", ["clean", "wal", "wal-no-shm"])
@pytest.mark.parametrize(
    ("case", "arguments", "expected"), READ_COMMANDS, ids=[c[0] for c in READ_COMMANDS]
)
def test_read_commands_work_on_read_only_evidence_and_change_nothing(
    evidence: dict[str, Path],
    tmp_path: Path,
    state: str,
    case: str,
    arguments: tuple[str, ...],
    expected: str,
) -> None:
    if state == "wal-no-shm" and case not in ("changes json", "verify", "show"):
        pytest.skip("the private-copy path: a few commands suffice")
    data = evidence[state]
    before = snapshot(data)
    copies = set(Path(tempfile.gettempdir()).glob("monitor-read-only-*"))
    done = run_monitor(data, *(a.format(out=tmp_path) for a in arguments))
    assert done.returncode == 0, f"{case} on {state}: {done.stderr}"
    assert set(Path(tempfile.gettempdir()).glob("monitor-read-only-*")) == copies  # removed
    assert expected in done.stdout
    assert "Traceback" not in done.stderr
    assert snapshot(data) == before, f"{case} changed {data}"
    if case == "changes json":
        # The third check's change lives only in the copied log: it must be read.
        assert done.stdout.count('"watch": "p0"') == (1 if state == "clean" else 2)


def test_key_on_read_only_evidence_without_its_wacz_key_is_a_clear_refusal(
    evidence: dict[str, Path],
) -> None:
    """`key` shows the WACZ key's binding too, made on first use: it cannot be made here."""
    data = evidence["clean"]
    before = snapshot(data)
    done = run_monitor(data, "key")
    assert done.returncode == 1 and "cannot read or create the signing key" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert snapshot(data) == before


def test_an_old_schema_on_read_only_evidence_is_refused_with_advice(
    evidence: dict[str, Path],
) -> None:
    data = evidence["old-schema"]
    before = snapshot(data)
    done = run_monitor(data, "changes")
    assert done.returncode == 1
    assert "older monitor" in done.stderr and "writable" in done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(data) == before


def test_a_recording_command_on_read_only_evidence_says_so(
    evidence: dict[str, Path], tmp_path: Path
) -> None:
    data = evidence["clean"]
    before = snapshot(data)
    watchlist = write_watchlist(
        tmp_path / "w.yaml", f"watches:\n  - name: p0\n    url: http://127.0.0.1:9/\n{FAST_SETTINGS}"
    )
    done = run_monitor(data, "check", "--watchlist", str(watchlist))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "needs a writable data directory" in done.stderr
    assert "internal error" not in done.stderr
    assert snapshot(data) == before


def test_read_only_open_of_a_writable_directory_creates_no_blob_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    SQLiteStore(data).close()
    shutil.rmtree(data / "blobs")
    with open_store(data, create=False, read_only=True) as store:
        assert store.changes() == []
    assert not (data / "blobs").exists()


# -- a full disk -----------------------------------------------------------------------


def _file_size_limit(limit: int) -> Callable[[], None]:
    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limited


def test_a_full_disk_is_recorded_clearly_and_leaves_no_temporary_file(
    tmp_path: Path, site: Site
) -> None:
    """A real limit (RLIMIT_FSIZE): the page's blob cannot be written, the check is."""
    data = tmp_path / "data"
    watchlist = write_watchlist(
        tmp_path / "w.yaml", f"watches:\n  - name: p0\n    url: {site.url('/p')}\n{FAST_SETTINGS}"
    )
    site.set("/p", page(1))
    first = run_monitor(data, "check", "--watchlist", str(watchlist), preexec=None)
    assert first.returncode == 0, first.stderr
    noise = random.Random(9).randbytes(3_000_000)  # incompressible: its blob is ~3 MB
    site.set("/p", page(2).encode() + noise)
    full = run_monitor(
        data, "check", "--watchlist", str(watchlist), preexec=_file_size_limit(1_500_000)
    )
    assert full.returncode == 0, full.stderr  # recorded: a failure of the check, not of us
    assert "error" in full.stdout and "not stored: no room to write" in full.stdout
    assert "Traceback" not in full.stderr + full.stdout
    assert list((data / "blobs" / "tmp").iterdir()) == []  # removed at once
    with open_store(data, create=False) as store:
        rows = store.captures("p0")
        assert [r["outcome"] for r in rows] == ["ok", "error"]
        assert "free space" in rows[-1]["error"] and rows[-1]["body_sha256"] is None
        reference = store.state("p0").reference
    assert reference == rows[0]["id"]  # the state is untouched: nothing was compared
    site.set("/p", page(2))
    after = run_monitor(data, "check", "--watchlist", str(watchlist), preexec=None)
    assert after.returncode == 0 and "changed" in after.stdout
    with open_store(data, create=False) as store:
        (change,) = store.changes()
        assert change["from_capture"] == rows[0]["id"]  # against the last good capture


def _checker_for(store: Any) -> tuple[Checker, Watch]:
    return Checker(store, fetcher=None), Watch("w", "https://x.example/a")  # type: ignore[arg-type]


def _fetched(body: str | bytes, at: datetime = T0, pad: int = 0) -> Capture:
    """A fetched page; ``pad`` adds a header that long (a row SQLite must grow for)."""
    data = body.encode() if isinstance(body, str) else body
    headers = (("Content-Type", "text/html; charset=utf-8"),)
    headers += (("X-Pad", "p" * pad),) if pad else ()
    return Capture("https://x.example/a", at, 200, "https://x.example/a", headers, data)


FULL_DISK_INJECTIONS: list[tuple[str, str, str]] = [
    # (where the write fails, the outcome, what the result says)
    ("fsync of a blob (ENOSPC)", "blob", "not stored: no room to write"),
    ("the database (SQLITE_FULL)", "database", "not recorded: no room to write"),
]


@pytest.mark.parametrize(
    ("case", "where", "says"), FULL_DISK_INJECTIONS, ids=[c[0] for c in FULL_DISK_INJECTIONS]
)
def test_a_full_disk_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, where: str, says: str
) -> None:
    store = SQLiteStore(tmp_path / "data")
    store.ensure_watches([("w", "https://x.example/a", {"name": "w"})])
    checker, watch = _checker_for(store)
    try:
        assert checker.process(watch, _fetched(page(1))).outcome == Outcome.OK
        before = len(store.captures("w"))
        if where == "blob":

            def no_room(_fd: int) -> None:
                raise OSError(errno.ENOSPC, "No space left on device")

            monkeypatch.setattr(blobs_module.os, "fsync", no_room)
        else:  # SQLite's own limit: the database may not grow by a page
            pages = store._db.execute("PRAGMA page_count").fetchone()[0]
            store._db.execute(f"PRAGMA max_page_count = {pages}")
        changed = _fetched(page(2), T0 + timedelta(1), pad=20_000 if where == "database" else 0)
        result = checker.process(watch, changed)
    finally:
        checker.close()
    assert result.outcome == Outcome.ERROR and says in (result.reason or result.error or "")
    assert (result.capture_id is None) == (where == "database")
    assert list((tmp_path / "data" / "blobs" / "tmp").iterdir()) == []
    assert len(store.captures("w")) == before + (where == "blob")
    assert store.changes() == []
    store.close()


def test_a_check_that_cannot_be_recorded_exits_1_without_a_traceback(
    tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    path = "/p?" + "q" * 12_000  # every capture row of it needs new pages in SQLite
    watchlist = write_watchlist(
        tmp_path / "w.yaml", f"watches:\n  - name: p0\n    url: {site.url(path)}\n{FAST_SETTINGS}"
    )
    site.set(path, page(1))
    assert run_cli("--data-dir", str(data), "check", "--watchlist", str(watchlist)).code == 0
    site.set(path, page(2))
    real_open = opening.open_database

    def full(database: Path, read_only: bool = False) -> opening.Opened:
        opened = real_open(database, read_only)
        pages = opened.db.execute("PRAGMA page_count").fetchone()[0]
        opened.db.execute(f"PRAGMA max_page_count = {pages}")
        return opened

    monkeypatch.setattr("monitor.store.sqlite.open_database", full)
    done = run_cli("--data-dir", str(data), "check", "--watchlist", str(watchlist))
    assert done.code == 1
    assert "no room to write" in done.out + done.err
    assert "Traceback" not in done.out + done.err
    assert list((data / "blobs" / "tmp").iterdir()) == []


TEMPORARIES: list[tuple[str, Callable[[], str], float, bool]] = [
    # (case, file name, age in seconds, kept by the next open)
    ("a dead writer's, young", lambda: f"{_dead_pid()}.abc.part", 5, False),
    ("a live writer's, young", lambda: f"{os.getppid()}.abc.part", 5, True),
    ("a live writer's, a day old", lambda: f"{os.getppid()}.abc.part", 86_400, False),
    ("an older version's, young", lambda: "0123abcd.part", 5, True),
    ("an older version's, a day old", lambda: "0123abcd.part", 86_400, False),
]


def _dead_pid() -> int:
    child = subprocess.Popen([PYTHON, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize(
    ("case", "name", "age", "kept"), TEMPORARIES, ids=[c[0] for c in TEMPORARIES]
)
def test_leftover_temporary_files(
    tmp_path: Path, case: str, name: Callable[[], str], age: float, kept: bool
) -> None:
    SQLiteStore(tmp_path / "data").close()
    leftover = tmp_path / "data" / "blobs" / "tmp" / name()
    leftover.write_bytes(b"partial")
    moment = time.time() - age
    os.utime(leftover, (moment, moment))
    SQLiteStore(tmp_path / "data").close()
    assert leftover.exists() == kept


# -- two checks of one watch -------------------------------------------------------------


def test_two_threads_racing_on_one_edit_record_one_change(tmp_path: Path) -> None:
    """Both compared the same new page, fetched at the same moment, against the same old
    reference; one wins, the other is examined again (the same bytes as the new
    reference: unchanged). Fetched at different moments, the earlier one would be kept
    uncompared instead (tests/store/test_late_capture.py)."""
    first = SQLiteStore(tmp_path / "data")
    first.ensure_watches([("w", "https://x.example/a", {"name": "w"})])
    checker, watch = _checker_for(first)
    checker.process(watch, _fetched(page(1)))
    stale = first.state("w")  # what both racers read before either records
    stores = [first, SQLiteStore(tmp_path / "data")]
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def race(store: SQLiteStore) -> None:
        racer, _ = _checker_for(store)
        barrier.wait()
        results.append(racer.process(watch, _fetched(page(2), T0 + timedelta(1)), None, stale))
        racer.close()

    threads = [threading.Thread(target=race, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checker.close()
    changes = first.changes()
    assert len(changes) == 1, changes
    assert sorted(str(r.outcome) for r in results) == ["ok", "unchanged"]
    assert all(r.capture_id for r in results)
    for store in stores:
        store.close()


def test_many_processes_racing_record_each_edit_once(tmp_path: Path) -> None:
    """Processes with their own connections, no lock between them: each of five edits
    is seen by all four, and each yields exactly one changed event."""
    data = tmp_path / "data"
    with SQLiteStore(data) as store:
        store.ensure_watches([("w", "https://x.example/a", {"name": "w"})])
    script = f"""
import time
from datetime import UTC, datetime
from monitor.check import Checker
from monitor.config.watchlist import Watch
from monitor.model import Capture
from monitor.store import SQLiteStore
store = SQLiteStore({str(data)!r})
checker, watch = Checker(store, None), Watch("w", "https://x.example/a")
def fetched(body):
    return Capture("https://x.example/a", datetime.now(UTC), 200, "https://x.example/a",
                   (("Content-Type", "text/html"),), body)
# No warm-up: a cold racer that records a page after the others' newer one keeps it as
# evidence, uncompared (monitor/store/late.py), rather than reporting the edit backwards.
start = {time.time() + 8}  # after every racer has started
for version in range(1, 6):
    while time.time() < start + version:
        time.sleep(0.005)
    if time.time() > start + version + 0.5:
        continue  # a late start would "fetch" an old version at a new time: not a real race
    state = store.state("w")  # all four read it before any of them records
    body = {page(0)!r}.replace("版本 0", f"版本 {{version}}", 1).encode()
    checker.process(watch, fetched(body), None, state)
checker.close()
store.close()
"""
    racers = [subprocess.Popen([PYTHON, "-c", script]) for _ in range(4)]
    assert [r.wait(timeout=120) for r in racers] == [0, 0, 0, 0]
    with SQLiteStore(data) as store:
        changes = store.changes(watch="w")
        assert len(changes) == 4, [(c["from_capture"], c["to_capture"]) for c in changes]
        assert len({c["from_capture"] for c in changes}) == 4
        assert store.verify() == []


STORE_REFUSALS: list[tuple[str, str, bool]] = [
    # (case, what the check compared against, refused)
    ("compared against the current reference", "current", False),
    ("compared against a reference since moved, event from the new one", "old", True),
    ("event from a reference since moved, no comparison named", "event-old", True),
]


@pytest.fixture(params=["sqlite", "postgres+dir"])
def either(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    yield from open_backend(request, tmp_path, {})


def _good(store: Any, body: bytes, at: datetime) -> int:
    digest = store.put_blob(body)
    with store.recording() as writer:
        writer.state("w")
        capture_id = int(writer.add_capture(capture(digest, at)))
        writer.set_state("w", WatchState(status=WatchStatus.UP, reference=capture_id))
    return capture_id


@pytest.mark.parametrize(
    ("case", "compared", "refused"), STORE_REFUSALS, ids=[c[0] for c in STORE_REFUSALS]
)
def test_the_store_refuses_a_change_against_a_moved_reference(
    either: Backend, case: str, compared: str, refused: bool
) -> None:
    store = either.store
    old = _good(store, b"v1", T0)
    current = _good(store, b"v2", T0 + timedelta(hours=1))  # another check moved it
    digest = store.put_blob(b"v3")
    basis = {"current": current, "old": old, "event-old": None}[compared]
    record = capture(digest, T0 + timedelta(hours=2))
    record = record.__class__(**{**record.__dict__, "compared_with": basis})
    source = current if compared != "event-old" else old
    attempt = store.recording()
    if refused:
        with pytest.raises(StaleReferenceError, match="another check"), attempt as writer:
            writer.state("w")
            new = writer.add_capture(record)
            writer.add_change(record, EventDraft(EventKind.CHANGED, source, new, ("x",)))
        assert len(store.captures("w")) == 2  # the whole check was rolled back
        assert store.changes() == []
    else:
        with attempt as writer:
            writer.state("w")
            new = writer.add_capture(record)
            writer.add_change(record, EventDraft(EventKind.CHANGED, source, new, ("x",)))
        assert len(store.changes()) == 1


def test_storage_errors_are_typed() -> None:
    assert issubclass(StorageFullError, StoreError)
    assert issubclass(StaleReferenceError, StoreError)
    with pytest.raises(StoreError, match="read-only"):
        blobs_module.BlobStore("/nonexistent-monitor-test", read_only=True).put(b"x")
