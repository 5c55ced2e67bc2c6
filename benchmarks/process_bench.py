"""What a user feels: ``monitor check`` timed as a whole process, at 20, 200 and 2,000 pages.

Small lists are dominated by fixed costs (interpreter start-up, imports, opening the
store, worker start-up), which the in-process benchmark (``throughput.py``) does not
see. Here every round is a fresh process, timed from process start to exit:

    ceiling   a plain httpx fetch script of the same pages, same concurrency
    monitor   python -m monitor --data-dir D check --watchlist W
    urlwatch  (optional, --urlwatch PATH) urlwatch with a CSS selector and html2text,
              installed in a scratch virtual environment, never a project dependency

Scenarios as in throughput.py: first capture, unchanged, changed (10% of pages), noisy.

    python benchmarks/process_bench.py [--sizes 20,200,2000] [--concurrency 8] [--rounds 3]
    python benchmarks/process_bench.py --urlwatch /tmp/uw/bin/urlwatch
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pages import PageServer
from throughput import write_watchlist

CEILING_SCRIPT = """
import asyncio, sys, httpx
urls = open(sys.argv[1]).read().split()
async def main():
    limits = httpx.Limits(max_connections={c}, max_keepalive_connections={c})
    gate = asyncio.Semaphore({c})
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        async def one(url):
            async with gate:
                return len((await client.get(url)).content)
        await asyncio.gather(*(one(u) for u in urls))
asyncio.run(main())
"""

SETTINGS = """settings:
  max_connections: {c}
  per_host: {c}
  host_delay: 0
  retries: 0
"""


def timed(command: list[str]) -> float:
    """Seconds from process start to exit; the command must succeed."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[:4]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def urlwatch_files(folder: Path, urls: list[str]) -> tuple[Path, Path, Path]:
    jobs = folder / "urls.yaml"
    jobs.write_text(
        "\n---\n".join(
            f"name: doc-{i}\nurl: {u}\nfilter:\n  - css: main\n  - html2text"
            for i, u in enumerate(urls)
        ),
        encoding="utf-8",
    )
    config = folder / "urlwatch.yaml"
    config.write_text(
        "display: {new: false, error: false, unchanged: false}\n"
        "report: {stdout: {enabled: false}, text: {details: false}}\n",
        encoding="utf-8",
    )
    return jobs, config, folder / "cache.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,200,2000")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--urlwatch", help="path of a urlwatch executable to compare with")
    args = parser.parse_args()
    print(
        f"{'pages':>6} {'scenario':<10}{'monitor s':>10}{'ceiling s':>10}{'ratio':>7}"
        f"{'urlwatch s':>11}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        with (
            PageServer(size, changed_fraction=0.1) as server,
            tempfile.TemporaryDirectory(prefix="monitor-proc-") as tmp,
        ):
            folder = Path(tmp)
            urls = server.urls()
            url_file = folder / "urls.txt"
            url_file.write_text("\n".join(urls), encoding="utf-8")
            watchlist = write_watchlist(folder / "w.yaml", urls)
            with watchlist.open("a", encoding="utf-8") as handle:
                handle.write(SETTINGS.format(c=args.concurrency))
            ceiling_cmd = [
                sys.executable,
                "-c",
                CEILING_SCRIPT.format(c=args.concurrency),
                str(url_file),
            ]
            monitor_cmd = [
                sys.executable,
                "-m",
                "monitor",
                "--data-dir",
                str(folder / "data"),
                "check",
                "--watchlist",
                str(watchlist),
            ]
            uw_cmd = None
            if args.urlwatch:
                jobs, config, cache = urlwatch_files(folder, urls)
                uw_cmd = [
                    args.urlwatch,
                    "--urls",
                    str(jobs),
                    "--config",
                    str(config),
                    "--cache",
                    str(cache),
                ]
            plan = [("first", "v0")] + [("unchanged", "v0")] * args.rounds
            plan += [("changed", "changed"), ("changed", "v0")] * args.rounds
            plan += [("noisy", "noisy")] * args.rounds
            rows: dict[str, list[tuple[float, float, float | None]]] = {}
            first_uw = True
            for name, scenario in plan:
                server.set_scenario(scenario)
                roof = timed(ceiling_cmd)
                mine = timed(monitor_cmd)
                theirs = timed(uw_cmd) if uw_cmd and (name != "first" or first_uw) else None
                first_uw = first_uw and name != "first"
                rows.setdefault(name, []).append((mine, roof, theirs))
            for name, values in rows.items():
                mine = statistics.median(v[0] for v in values)
                roof = statistics.median(v[1] for v in values)
                uw = [v[2] for v in values if v[2] is not None]
                uw_text = f"{statistics.median(uw):11.2f}" if uw else f"{'-':>11}"
                print(f"{size:>6} {name:<10}{mine:10.2f}{roof:10.2f}{roof / mine:7.2f}{uw_text}")


if __name__ == "__main__":
    main()
