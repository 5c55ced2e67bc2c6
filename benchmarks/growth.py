"""How the stores behave as history grows: 10,000 watches x 200 captures (generated).

For each back end (SQLite + blob directory; PostgreSQL + S3 on moto's local server) the
history is generated in steps (by default 20, 100 and 200 captures per watch: 200,000,
1,000,000 and 2,000,000 captures), and after each step the benchmark times what grows
with history:

    record     one check written through the store (state read under lock, capture row,
               new state), median of 200 checks of random watches
    change     the same with a `changed` event
    last       last_checks(): when each watch was last checked (`monitor run` asks it
               every round)
    since      changes --since (the last day: about 1,000 events)
    watch      changes --watch NAME (one watch's whole history of events)
    history    captures(NAME) (one watch's 200 captures)
    verify     the store's integrity and every distinct blob re-hashed (2 per watch, as
               most checks of a page find the same bytes)
    chain      the whole evidence chain walked and re-hashed (monitor verify does both)

Rows are generated in bulk (COPY / executemany), the way `monitor migrate` writes them;
the timed operations go through the stores' own code.

    python benchmarks/growth.py [--watches 10000] [--steps 20,100,200] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # services.py
from services import S3_CREDENTIALS, PostgresCluster, S3Server, create_bucket

from monitor.analysis.events import EventDraft, WatchState
from monitor.evidence.chain import FIELDS, Head, chain_hash, verify_entries
from monitor.model import EventKind, Outcome, WatchStatus, iso
from monitor.store import CaptureRecord, EvidenceStore, SQLiteStore, open_store

T0 = datetime(2024, 1, 1, tzinfo=UTC)
EVERY = timedelta(hours=6)
CHANGE_EVERY = 20  # one `changed` event every 20 checks of a watch
HEADERS = json.dumps([["Content-Type", "text/html; charset=utf-8"], ["Server", "nginx"]])


def body(watch: int, version: int) -> bytes:
    return f"<html><main><h1>doc {watch}</h1><p>version {version}</p></main></html>".encode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rows(
    watches: int, start: int, stop: int, first_id: int, first_change: int, last: dict[int, int],
    chain: list[Head],
) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...] | None]]:  # fmt: skip
    """Captures k in [start, stop) of every watch, interleaved in time like real checks.

    ``last`` is each watch's latest capture id, updated as rows are made. A `changed`
    event comes mid-way between two steps' boundaries, against the capture before it.
    Every row is chained (monitor/evidence/chain.py) after ``chain[0]``, which moves.
    """

    def chained(record_type: str, names: tuple[str, ...], values: tuple[Any, ...]) -> tuple:
        head = chain[0]
        row = dict(zip(names, values, strict=True))
        digest = chain_hash(head.hash, record_type, head.seq + 1, row)
        chain[0] = Head(head.seq + 1, digest)
        return (*values, head.seq + 1, digest)

    capture_id, change_id = first_id, first_change
    for k in range(start, stop):
        at = iso(T0 + k * EVERY)
        version = k // 100  # two distinct bodies per watch over 200 checks
        for w in range(watches):
            name = f"doc-{w:05d}"
            digest = sha(body(w, version))
            capture = chained("capture", CAPTURE_FIELDS, (
                capture_id, name, f"https://docs.example/{w}", at, 200,
                f"https://docs.example/{w}", HEADERS, "[]", digest, 80, digest, "utf-8", 50, 1,
                "ok", None, None, None, None, None))  # fmt: skip
            change = None
            if k % CHANGE_EVERY == CHANGE_EVERY // 2:
                change = chained("change", CHANGE_FIELDS, (
                    change_id, name, "changed", at, last[w], capture_id, '["old"]', '["new"]',
                    "[]", "{}"))  # fmt: skip
                change_id += 1
            last[w] = capture_id
            yield capture, change
            capture_id += 1


CAPTURE_FIELDS = FIELDS["capture"]
CHANGE_FIELDS = FIELDS["change"]
CAPTURE_COLS = ", ".join((*CAPTURE_FIELDS, "chain_seq", "chain_hash"))
CHANGE_COLS = ", ".join((*CHANGE_FIELDS, "chain_seq", "chain_hash"))


class Generator:
    """Bulk-writes generated history into one store."""

    def __init__(self, store: EvidenceStore, kind: str, watches: int) -> None:
        self.store, self.kind, self.watches = store, kind, watches
        self.captures = 0  # generated so far
        self.changes = 0
        self.steps = 0  # captures per watch generated so far
        self.last: dict[int, int] = {}
        names = [(f"doc-{w:05d}", f"https://docs.example/{w}", {"name": f"doc-{w:05d}"})
                 for w in range(watches)]  # fmt: skip
        store.ensure_watches(names)
        for w in range(watches):
            for version in (0, 1):
                store.put_blob(body(w, version))

    def grow(self, per_watch: int) -> None:
        first_capture, first_change = self._next_ids()
        chain = [self.store.chain_head()]  # the timed checks extend the chain too
        pairs = list(rows(self.watches, self.steps, per_watch, first_capture, first_change,
                          self.last, chain))  # fmt: skip
        self.head = chain[0]
        self.steps = per_watch
        captures = [c for c, _ in pairs]
        changes = [ch for _, ch in pairs if ch is not None]
        if self.kind == "sqlite":
            self._sqlite(captures, changes)
        else:
            self._postgres(captures, changes)
        self.captures += len(captures)
        self.changes += len(changes)
        self._states()

    def _next_ids(self) -> tuple[int, int]:
        """After the rows already there (the timed checks add some)."""
        top = self.store._query(  # type: ignore[attr-defined]
            "SELECT (SELECT max(id) FROM captures) AS c, (SELECT max(id) FROM changes) AS h"
        )
        return int(top[0]["c"] or 0) + 1, int(top[0]["h"] or 0) + 1

    def _sqlite(self, captures: list, changes: list) -> None:
        db = self.store._db  # type: ignore[attr-defined]
        db.execute("BEGIN IMMEDIATE")
        db.executemany(f"INSERT INTO captures ({CAPTURE_COLS}) VALUES ({', '.join('?' * 22)})",
                       captures)  # fmt: skip
        self.store._cursor = None  # type: ignore[attr-defined]  # its cached head is stale
        db.executemany(f"INSERT INTO changes ({CHANGE_COLS}) VALUES ({', '.join('?' * 12)})",
                       changes)  # fmt: skip
        db.execute("COMMIT")

    def _postgres(self, captures: list, changes: list) -> None:
        with self.store.connection() as conn, conn.transaction():  # type: ignore[attr-defined]
            conn.execute("SET LOCAL monitor.copying = 'on'")
            with conn.cursor().copy(f"COPY captures ({CAPTURE_COLS}) FROM STDIN") as copy:
                for row in captures:
                    copy.write_row(row)
            with conn.cursor().copy(f"COPY changes ({CHANGE_COLS}) FROM STDIN") as copy:
                for row in changes:
                    copy.write_row(row)
            conn.execute("UPDATE chain_head SET seq = %s, hash = %s",
                         (self.head.seq, self.head.hash))  # fmt: skip
            for table in ("captures", "changes"):
                conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"(SELECT max(id) FROM {table}))")  # fmt: skip
            conn.execute("ANALYZE captures")
            conn.execute("ANALYZE changes")

    def _states(self) -> None:
        """Each watch's reference: its latest capture (what the next check compares with)."""
        states = [(json.dumps(WatchState(status=WatchStatus.UP, reference=c).to_dict()), c,
                   f"doc-{w:05d}") for w, c in self.last.items()]  # fmt: skip
        if self.kind == "sqlite":
            db = self.store._db  # type: ignore[attr-defined]
            db.execute("BEGIN IMMEDIATE")
            db.executemany("UPDATE watches SET state = ? WHERE name = ?",
                           [(s, n) for s, _, n in states])  # fmt: skip
            db.execute("COMMIT")
        else:
            with self.store.connection() as conn, conn.transaction(), conn.cursor() as cur:  # type: ignore[attr-defined]
                cur.executemany("UPDATE watches SET state = %s, reference = %s WHERE name = %s",
                                states)  # fmt: skip


def one_check(store: EvidenceStore, watch: str, at: datetime, changed: bool) -> None:
    data = body(int(watch[4:]), 1)
    digest = sha(data)
    record = CaptureRecord(watch, f"https://docs.example/{watch}", at, Outcome.OK, status=200,
                           headers=(("Content-Type", "text/html"),), body_sha256=digest,
                           text_sha256=digest, body_size=len(data))  # fmt: skip
    with store.recording() as writer:
        state = writer.state(watch)
        capture_id = writer.add_capture(record)
        if changed:
            writer.add_change(record, EventDraft(EventKind.CHANGED, state.reference, capture_id,
                                                 ("old",), ("new",)))  # fmt: skip
        writer.set_state(watch, WatchState(status=WatchStatus.UP, reference=capture_id))


def timed(fn: Callable[[], Any], repeat: int = 1) -> float:
    """Median seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(store: EvidenceStore, watches: int, per_watch: int, rng: random.Random) -> dict:
    latest = T0 + per_watch * EVERY
    names = [f"doc-{rng.randrange(watches):05d}" for _ in range(200)]
    at = iter(latest + timedelta(seconds=i) for i in range(10_000))
    record = statistics.median(
        timed(lambda n=n: one_check(store, n, next(at), False)) for n in names[:100]  # type: ignore[misc]
    )
    change = statistics.median(
        timed(lambda n=n: one_check(store, n, next(at), True)) for n in names[100:]  # type: ignore[misc]
    )
    return {
        "record": record * 1000,
        "change": change * 1000,
        "last": timed(store.last_checks, 3) * 1000,
        "since": timed(lambda: store.changes(since=latest - timedelta(days=1)), 3) * 1000,
        "watch": timed(lambda: store.changes(watch=names[0]), 3) * 1000,
        "history": timed(lambda: store.captures(names[1]), 3) * 1000,
        "verify": timed(store.verify, 1),
        "chain": timed(lambda: verify_entries(store.chain_entries()), 1),
    }


def run_backend(kind: str, store: EvidenceStore, watches: int, steps: list[int]) -> list[dict]:
    rng = random.Random(1)
    generator = Generator(store, kind, watches)
    results = []
    for per_watch in steps:
        started = time.perf_counter()
        generator.grow(per_watch)
        made = time.perf_counter() - started
        figures = measure(store, watches, per_watch, rng)
        figures.update(captures=generator.captures, changes=generator.changes, generate=made)
        results.append(figures)
        print(f"{kind:<9}{generator.captures:>10,}{generator.changes:>9,}"
              f"{figures['record']:9.2f}{figures['change']:9.2f}{figures['last']:9.0f}"
              f"{figures['since']:9.1f}{figures['watch']:9.1f}{figures['history']:9.1f}"
              f"{figures['verify']:9.1f}{figures['chain']:9.1f}   (generated in {made:.0f} s)",
              flush=True)  # fmt: skip
    return results


def main() -> None:
    # SIGTERM (a timeout, a Ctrl-C from a wrapper) still stops the servers we started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watches", type=int, default=10_000)
    parser.add_argument("--steps", default="20,100,200")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    for key, value in S3_CREDENTIALS.items():
        os.environ.setdefault(key, value)
    print(f"{args.watches:,} watches; times in ms (verify and chain in s)")
    print(f"{'store':<9}{'captures':>10}{'changes':>9}{'record':>9}{'change':>9}{'last':>9}"
          f"{'since':>9}{'watch':>9}{'history':>9}{'verify':>9}{'chain':>9}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="monitor-growth-") as tmp_name:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)
        if "sqlite" in args.backends:
            with SQLiteStore(tmp / "data") as store:
                run_backend("sqlite", store, args.watches, steps)
        if "postgres" in args.backends:
            cluster = PostgresCluster.start(tmp / "postgres", durable=True)
            s3 = S3Server.start(tmp / "s3")
            os.environ["AWS_ENDPOINT_URL"] = s3.endpoint
            try:
                bucket = f"growth-{secrets.token_hex(4)}"
                create_bucket(s3.endpoint, bucket)
                with open_store(cluster.url, f"s3://{bucket}/monitor") as store:
                    run_backend("pg+s3", store, args.watches, steps)
            finally:
                S3Server.stop(tmp / "s3")
                PostgresCluster.stop(tmp / "postgres")


if __name__ == "__main__":
    main()
