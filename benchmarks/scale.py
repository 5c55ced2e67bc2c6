"""Throughput of distributed checking (PostgreSQL + S3, 1, 2 and 4 workers) against the
embedded default (SQLite + blob directory, `monitor check`) on the same pages.

The page server answers every request after a simulated latency (50 ms by default: a
server across the internet, where concurrency across workers is what matters). The
throughput scenarios of throughput.py run in order:

    first      first capture (store everything, extract everything)
    unchanged  nothing changed (same bytes: one small row per watch)
    changed    10% of pages changed their visible text
    noisy      every page's bytes differ but its text does not

SQLite: `monitor check`'s own orchestration (check_once, default worker count).
PostgreSQL + S3: a throwaway cluster with fsync on (tests/services.py) and moto's S3
server, both on this machine; `monitor worker` processes already running; the time is
from queueing every watch (as `monitor run` does) to the last check recorded.

    python benchmarks/scale.py [--pages 1000] [--latency 0.05] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # services.py
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pages import PageServer
from services import S3_CREDENTIALS, PostgresCluster, S3Server, create_bucket
from throughput import write_watchlist

from monitor.config.settings import Settings
from monitor.config.watchlist import load_watchlist
from monitor.fetch.http import FetchPolicy
from monitor.run.distributed import enqueue_due, make_app, run_enqueuer
from monitor.run.once import check_once
from monitor.store import open_store

SCENARIOS = [("first", "v0"), ("unchanged", "v0"), ("changed", "changed"), ("noisy", "noisy")]


def sqlite_rates(pages: PageServer, watchlist_path: Path, tmp: Path, concurrency: int) -> dict:
    watchlist = load_watchlist(watchlist_path)
    policy = FetchPolicy(max_connections=concurrency, per_host=concurrency, host_delay=0.0,
                         retries=0)  # fmt: skip
    rates = {}
    for name, scenario in SCENARIOS:
        pages.set_scenario(scenario)
        started = time.perf_counter()
        results = check_once(str(tmp / "sqlite-data"), watchlist, watchlist.watches, 0, policy)
        rates[name] = len(results) / (time.perf_counter() - started)
        print(f"  sqlite      {name:<10} {rates[name]:7.1f} pages/s", flush=True)
    return rates


def count_runs(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM check_runs").fetchone()
    return int(row[0]) if row else 0


def postgres_rates(
    pages: PageServer, watchlist_path: Path, admin_url: str, s3_endpoint: str,
    workers: int, concurrency: int, tmp: Path,
) -> dict:  # fmt: skip
    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    bucket = f"bench-{secrets.token_hex(4)}"
    create_bucket(s3_endpoint, bucket)
    blobs = f"s3://{bucket}/monitor"
    watchlist = load_watchlist(watchlist_path)
    settings = Settings(max_connections=concurrency, per_host=1000, host_delay=0.0, retries=0)
    store = open_store(url, blobs)
    pages.set_scenario("v0")
    asyncio.run(run_enqueuer(store, [], settings, once=True))  # queue schema, settings
    env = dict(os.environ, MONITOR_STORE=url, MONITOR_BLOBS=blobs)
    command = [sys.executable, "-m", "monitor", "worker", "--concurrency", str(concurrency)]
    procs = []
    for i in range(workers):
        log = open(tmp / f"w{workers}-{i}.log", "wb")  # noqa: SIM115 (the worker keeps it)
        procs.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log))
    time.sleep(3)  # let the workers start: the measure is checks, not Python start-up
    rates = {}
    try:
        for scenario_name, scenario in SCENARIOS:
            pages.set_scenario(scenario)
            before = count_runs(url)
            started = time.perf_counter()
            if scenario_name == "first":
                asyncio.run(run_enqueuer(store, watchlist.watches, settings, once=True, spread=0))
            else:

                async def again() -> None:
                    app = make_app(url)
                    async with app.open_async():
                        await enqueue_due(app, watchlist.watches, {}, spread=0)

                asyncio.run(again())
            target = before + len(watchlist.watches)
            while count_runs(url) < target:
                time.sleep(0.05)
            rates[scenario_name] = len(watchlist.watches) / (time.perf_counter() - started)
            print(f"  pg+s3 x{workers}    {scenario_name:<10} {rates[scenario_name]:7.1f} pages/s",
                  flush=True)  # fmt: skip
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=120)
        store.close()
    return rates


def main() -> None:
    # SIGTERM (a timeout, a Ctrl-C from a wrapper) still stops the servers we started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=8, help="connections per process")
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    for key, value in S3_CREDENTIALS.items():
        os.environ.setdefault(key, value)
    with tempfile.TemporaryDirectory(prefix="monitor-scale-") as tmp_name:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)
        cluster = PostgresCluster.start(tmp / "postgres", durable=True)
        s3 = S3Server.start(tmp / "s3")
        os.environ["AWS_ENDPOINT_URL"] = s3.endpoint
        try:
            with PageServer(args.pages, changed_fraction=0.1, latency=args.latency) as pages:
                path = write_watchlist(tmp / "bench.yaml", pages.urls())
                print(f"pages: {args.pages}, latency: {args.latency * 1000:g} ms, "
                      f"connections per process: {args.concurrency}")  # fmt: skip
                base = sqlite_rates(pages, path, tmp, args.concurrency)
                table = {}
                for workers in (int(w) for w in args.workers.split(",")):
                    table[workers] = postgres_rates(pages, path, cluster.url, s3.endpoint,
                                                    workers, args.concurrency, tmp)  # fmt: skip
        finally:
            S3Server.stop(tmp / "s3")
            PostgresCluster.stop(tmp / "postgres")
    head = f"{'scenario':<10}{'sqlite':>9}" + "".join(
        f"{f'pg+s3 x{w}':>12}{'ratio':>7}" for w in table
    )
    print("\n" + head)
    for name, _ in SCENARIOS:
        row = f"{name:<10}{base[name]:9.1f}"
        for rates in table.values():
            row += f"{rates[name]:12.1f}{rates[name] / base[name]:7.2f}"
        print(row)


if __name__ == "__main__":
    main()
