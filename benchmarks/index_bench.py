"""What building the search index costs: ``SearchIndex.catch_up`` after real checks.

Two snapshots of a data directory are made once, by real checks (``check_once``) of the
benchmark pages (``pages.py``) served from 127.0.0.1, without indexing:

    first    the first capture of every page (every block new)
    changed  the same, plus a second check in which 10% of the pages changed

Then, every round, a copy of the first snapshot's database is indexed from a fresh mark
(timed: ``first``), and the second check's captures are added to that copy and indexed
(timed: ``changed``). The text blobs are read from the snapshot's blob store, as
``monitor search`` reads them. Figures are CPU seconds of this process
(``time.process_time``: a shared machine disturbs them far less than wall time), median
of --rounds, with wall time beside them.

    python benchmarks/index_bench.py [--pages 200] [--rounds 5] [--data /tmp/index-data]

--data keeps the snapshots (and reuses them on the next run: the same pages, so two
versions of the code can be compared on identical input).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pages import PageServer
from throughput import write_watchlist

import monitor.search
from monitor.config.watchlist import load_watchlist
from monitor.fetch.http import FetchPolicy
from monitor.run.once import check_once
from monitor.search import SearchIndex
from monitor.store import Store


def make_snapshots(data: Path, pages: int) -> None:
    """``data/first`` and ``data/changed``: data directories after one and two checks."""
    data.mkdir(parents=True, exist_ok=True)
    search_catch_up = monitor.search.catch_up
    # The index is what is measured. (monitor check no longer indexes; trees from before
    # that did, at the end of check_once: this keeps them comparable.)
    monitor.search.catch_up = lambda *a, **k: 0
    try:
        with PageServer(pages, changed_fraction=0.1) as server:
            root = data / "work"
            watchlist = load_watchlist(write_watchlist(data / "pages.yaml", server.urls()))
            policy = FetchPolicy(max_connections=8, per_host=8, host_delay=0.0, retries=0)
            for name, scenario in (("first", "v0"), ("changed", "changed")):
                server.set_scenario(scenario)
                check_once(str(root), watchlist, watchlist.watches, workers=1, policy=policy)
                _copy_database(root, data / name)
            shutil.rmtree(data / "changed")
            (root).rename(data / "changed")  # keeps the blobs of both checks
    finally:
        monitor.search.catch_up = search_catch_up


def _copy_database(root: Path, to: Path) -> None:
    to.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(root / "monitor.db") as source, sqlite3.connect(to / "monitor.db") as copy:
        source.backup(copy)


def add_captures(database: Path, source: Path) -> None:
    """Append the captures ``source`` has beyond ``database``'s (the second check)."""
    db = sqlite3.connect(database)
    with db:
        db.execute("ATTACH DATABASE ? AS later", (str(source),))
        columns = ", ".join(r[1] for r in db.execute("PRAGMA table_info(captures)"))
        db.execute(
            f"INSERT INTO main.captures ({columns}) SELECT {columns} FROM later.captures "
            "WHERE id > (SELECT MAX(id) FROM main.captures) ORDER BY id"
        )
    db.close()


def timed_catch_up(database: Path, store: Store) -> tuple[int, float, float]:
    """(versions read, CPU seconds, wall seconds) of one catch-up from the mark."""
    index = SearchIndex(database, store.get_blob)
    started, cpu = time.perf_counter(), time.process_time()
    done = index.catch_up()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - started
    index.close()
    return done, cpu, wall


def one_round(data: Path, store: Store, scratch: Path) -> dict[str, tuple[int, float, float]]:
    database = scratch / "monitor.db"
    for leftover in scratch.glob("monitor.db*"):
        leftover.unlink()
    shutil.copyfile(data / "first" / "monitor.db", database)
    first = timed_catch_up(database, store)
    add_captures(database, data / "changed" / "monitor.db")
    changed = timed_catch_up(database, store)
    return {"first": first, "changed": changed}


def counts(database: Path) -> str:
    db = sqlite3.connect(database)
    blocks, spans = (
        db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("search_blocks", "search_spans")
    )
    db.close()
    return f"{blocks:,} blocks, {spans:,} spans, {database.stat().st_size / 2**20:.1f} MiB"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data", type=Path, help="keep (and reuse) the snapshots here")
    args = parser.parse_args(argv)
    data = args.data or Path(tempfile.mkdtemp(prefix="index-bench-"))
    if not (data / "changed" / "monitor.db").exists():
        started = time.perf_counter()
        make_snapshots(data, args.pages)
        print(f"snapshots of {args.pages} pages made in {time.perf_counter() - started:.0f} s")
    store = Store(data / "changed")
    scratch = Path(tempfile.mkdtemp(prefix="index-bench-run-"))
    results: dict[str, list[tuple[int, float, float]]] = {"first": [], "changed": []}
    for _ in range(args.rounds):
        for name, figures in one_round(data, store, scratch).items():
            results[name].append(figures)
    print(f"index after both: {counts(scratch / 'monitor.db')}")
    print(f"{'catch-up':<10}{'versions':>9}{'CPU s':>8}{'min':>7}{'max':>7}{'wall s':>8}")
    for name, rows in results.items():
        cpus = [cpu for _, cpu, _ in rows]
        print(
            f"{name:<10}{rows[0][0]:>9}{statistics.median(cpus):8.3f}{min(cpus):7.3f}"
            f"{max(cpus):7.3f}{statistics.median(w for *_, w in rows):8.3f}"
        )
    print(f"rounds: {args.rounds}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    store.close()
    shutil.rmtree(scratch)
    if not args.data:
        shutil.rmtree(data)


if __name__ == "__main__":
    sys.exit(main())
