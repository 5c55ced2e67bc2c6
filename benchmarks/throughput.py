"""Throughput of ``monitor check`` on 2,000 realistic documentation pages.

Scenarios, each a full check of every watch, measured against a plain httpx fetch of
the same pages with the same concurrency in the same run (the ceiling):

    first      first capture (store everything, extract everything)
    unchanged  nothing changed (same bytes: one small row per watch)
    changed    10% of pages changed their visible text (extract + diff those)
    noisy      every page's bytes differ (request id, timestamp) but its text does not

Prints pages/s per round, the ratio to the ceiling, and the peak RSS of the checking
process; then the median ratio of each scenario's rounds against its target; then
repeats the unchanged check to show RSS stays flat as history grows. The page server
runs in its own process.

    python benchmarks/throughput.py [--pages 2000] [--concurrency 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pages import PageServer

from monitor.analysis.events import Thresholds
from monitor.check import run_checks, watch_config
from monitor.config.watchlist import Watchlist, load_watchlist
from monitor.fetch.http import FetchPolicy
from monitor.run.once import default_workers
from monitor.run.workers import check_in_processes
from monitor.store import Store

TARGETS = {"unchanged": 0.8, "noisy": 0.4, "changed": 0.4, "first": 0.07}


def peak_rss_mb() -> float:
    """Peak RSS of the checking process (or of the largest worker process)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # includes the server
    return max(own, workers) / 1024


def write_watchlist(path: Path, urls: list[str]) -> Path:
    lines = ["defaults:", "  every: 6h", "  terms: [维族, Uyghur, ethnicity, 民族]", "watches:"]
    for i, url in enumerate(urls):
        lines += [
            f"  - name: doc-{i}",
            f"    url: {url}",
            "    select: main",
            "    exclude: [nav, .sidebar, footer]",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def ceiling(urls: list[str], concurrency: int) -> float:
    """Pages/s of a plain httpx fetch with the same concurrency: the upper bound."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one(url: str) -> int:
            async with gate:
                response = await client.get(url)
                return len(response.content)

        started = time.perf_counter()
        await asyncio.gather(*(one(u) for u in urls))
        return len(urls) / (time.perf_counter() - started)


def timed_check(
    data: Path, watchlist: Watchlist, policy: FetchPolicy, workers: int = 1
) -> tuple[float, dict]:
    """One check of every watch, the way ``monitor check`` runs it."""
    started = time.perf_counter()
    if workers > 1:  # the store is closed before the workers start (they may be forked)
        with Store(data) as store:
            store.ensure_watches([(w.name, w.url, watch_config(w)) for w in watchlist.watches])
        results = check_in_processes(str(data), watchlist.watches, policy, Thresholds(), workers)
    else:
        with Store(data) as store:
            results = asyncio.run(run_checks(store, watchlist, watchlist.watches, policy))
    elapsed = time.perf_counter() - started
    outcomes: dict[str, int] = {}
    for result in results:
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        if result.changed:
            outcomes["changed-events"] = outcomes.get("changed-events", 0) + 1
    return len(results) / elapsed, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each scenario")
    parser.add_argument("--repeat", type=int, default=3, help="extra unchanged checks for RSS")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="check processes (0: as `monitor check` chooses; same total connections)",
    )
    args = parser.parse_args()
    args.workers = args.workers or default_workers(args.pages)

    with (
        PageServer(args.pages, changed_fraction=0.1) as server,
        tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp,
    ):
        urls = server.urls()
        server.set_scenario("v0")
        asyncio.run(ceiling(urls[:200], args.concurrency))  # warm the server's caches
        watchlist = load_watchlist(write_watchlist(Path(tmp) / "bench.yaml", urls))
        policy = FetchPolicy(
            max_connections=args.concurrency,
            per_host=args.concurrency,
            host_delay=0.0,
            retries=0,
        )
        print(f"pages: {args.pages}, concurrency: {args.concurrency}, workers: {args.workers}")
        print("the ceiling (a plain httpx fetch of the same pages) is measured right before")
        print("each round, because this machine's speed drifts during a run")
        print(
            f"{'round':<12}{'pages/s':>10}{'ceiling':>9}{'ratio':>7}{'target':>8}"
            f"{'peak RSS':>10}  outcomes"
        )
        data = Path(tmp) / "data"
        # Each scenario but the first runs --rounds times, each round against a
        # ceiling measured just before it; the median ratio is the verdict, because
        # one round on this shared machine can be 30% off either way.
        plan = [("first", "v0")] + [("unchanged", "v0")] * args.rounds
        for _ in range(args.rounds):  # 10% of pages change, then change back
            plan += [("changed", "changed"), ("changed", "v0")]
        plan += [("noisy", "noisy")] * args.rounds  # fresh noise every round
        ratios: dict[str, list[float]] = {}
        for name, scenario in plan:
            server.set_scenario(scenario)
            roof = asyncio.run(ceiling(urls, args.concurrency))
            gc.collect()
            rate, outcomes = timed_check(data, watchlist, policy, args.workers)
            ratios.setdefault(name, []).append(rate / roof)
            print(
                f"{name:<12}{rate:10.1f}{roof:9.1f}{rate / roof:7.2f}"
                f"{TARGETS[name]:>8}{peak_rss_mb():8.0f}MB  {outcomes}"
            )
        print(f"\n{'scenario':<12}{'median':>7}{'min':>7}{'max':>7}{'target':>8}  verdict")
        for name, values in ratios.items():
            middle = statistics.median(values)
            verdict = "ok" if middle >= TARGETS[name] else "MISS"
            print(
                f"{name:<12}{middle:7.2f}{min(values):7.2f}{max(values):7.2f}"
                f"{TARGETS[name]:>8}  {verdict}"
            )
        server.set_scenario("v0")
        timed_check(data, watchlist, policy)  # back to v0: one more round of history
        for round_number in range(args.repeat):
            roof = asyncio.run(ceiling(urls, args.concurrency))
            rate, _ = timed_check(data, watchlist, policy, args.workers)
            print(
                f"unchanged again #{round_number + 1}: {rate:8.1f} pages/s, ratio "
                f"{rate / roof:.2f}, peak RSS {peak_rss_mb():.0f} MB"
            )


if __name__ == "__main__":
    main()
