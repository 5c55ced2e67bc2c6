"""`monitor check --workers N`: same results from several processes, limits shared."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import PYTHON, count_captures, pages_watchlist

from monitor.store import Store, StoreSpec


def small_pages(tmp_path: Path, site, count: int) -> Path:
    for i in range(count):
        site.set(f"/p{i}", f"<html><body><h1>Page {i}</h1><p>是否是维族 {i}</p></body></html>")
    paths = [f"/p{i}" for i in range(count)]
    return pages_watchlist(tmp_path / "w.yaml", site, paths, extra="    terms: [维族]\n")


def test_workers_give_the_same_results_as_one_process(tmp_path: Path, site, cli) -> None:
    path = small_pages(tmp_path, site, 6)
    first = cli("check", "--watchlist", str(path), "--workers", "2")
    assert first.code == 0, first.err
    assert "checked 6, changed 0, flagged 0, failed 0" in first.out
    site.set("/p3", "<html><body><h1>Page 3</h1><p>3</p></body></html>")
    second = cli("check", "--watchlist", str(path), "--workers", "3")
    assert "checked 6, changed 1, flagged 1, failed 0" in second.out
    lines = [line.split()[0] for line in second.out.splitlines()[:6]]
    assert lines == [f"p{i}" for i in range(6)]  # reported in watchlist order
    events = cli("changes", "--format", "json").json()
    assert [(e["watch"], e["removed"]) for e in events] == [("p3", ["是否是维族"])]
    assert cli("verify").out.strip() == "store OK"


def test_killing_the_parent_stops_its_workers(tmp_path: Path, site) -> None:
    from test_durability import big_page

    count = 80
    for i in range(count):
        site.set(f"/big{i}", big_page(i, 1))
    path = pages_watchlist(tmp_path / "big.yaml", site, [f"/big{i}" for i in range(count)])
    data = tmp_path / "data"
    command = [
        PYTHON,
        "-m",
        "monitor",
        "--data-dir",
        str(data),
        "check",
        "--watchlist",
        str(path),
        "--workers",
        "2",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and count_captures(data) < 10:
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    time.sleep(1.0)
    before = count_captures(data)
    time.sleep(2.0)
    after = count_captures(data)
    assert 10 <= before < count  # the kill landed in the middle of the work
    assert after == before  # and no orphaned worker is still writing
    with Store(data) as store:
        assert store.verify() == []


def test_workers_fork_only_with_no_other_thread_and_no_open_store(tmp_path: Path) -> None:
    """Forking copies a thread's held locks into the child without the thread, and
    SQLite's lock bookkeeping with an open store: only a single-threaded parent with
    no store open forks (`monitor check` itself); anything else spawns."""
    import sys
    import threading

    from monitor.run.workers import _start_method
    from monitor.store import open_stores

    before = open_stores()
    with Store(tmp_path / "data"):
        assert open_stores() == before + 1
        assert _start_method() == "spawn"
    assert open_stores() == before

    release = threading.Event()
    helper = threading.Thread(target=release.wait)
    helper.start()
    try:
        assert _start_method() == "spawn"
    finally:
        release.set()
        helper.join()
    expected = "fork" if sys.platform.startswith("linux") else "spawn"
    assert threading.active_count() > 1 or _start_method() == expected


def test_forked_workers_from_the_command_give_the_same_results(tmp_path: Path, site) -> None:
    """`monitor check` in its own process has one thread, so its workers fork."""
    path = small_pages(tmp_path, site, 6)
    command = [PYTHON, "-m", "monitor", "--data-dir", str(tmp_path / "data"), "check"]
    command += ["--watchlist", str(path), "--workers", "2"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "checked 6, changed 0, flagged 0, failed 0" in first.stdout
    site.set("/p4", "<html><body><h1>Page 4</h1><p>4</p></body></html>")
    second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert "checked 6, changed 1, flagged 1, failed 0" in second.stdout, second.stderr
    with Store(tmp_path / "data") as store:
        assert store.verify() == []


def test_new_pages_get_every_core_known_ones_one_process(
    tmp_path: Path, site, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages never captured are each parsed in full: from 16 of them a first check uses
    the cores (when workers can be forked); once they are known, one process is faster."""
    from monitor.config.watchlist import load_watchlist
    from monitor.run.once import _workers_for

    monkeypatch.setattr("monitor.run.workers.can_fork", lambda: True)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    path = small_pages(tmp_path, site, 16)
    watches = load_watchlist(path).watches
    spec = StoreSpec(str(tmp_path / "data"))
    assert _workers_for(spec, watches) == 2
    assert _workers_for(spec, watches[:15]) == 1  # too few to pay for a second process
    assert cli("check", "--watchlist", str(path), "--workers", "1").code == 0
    assert _workers_for(spec, watches) == 1
    monkeypatch.setattr("monitor.run.workers.can_fork", lambda: False)  # spawning: 0.45 s
    assert _workers_for(StoreSpec(str(tmp_path / "fresh")), watches) == 1
