"""What a user feels: ``monitor check`` timed as a whole process, at 20, 200 and 2,000 pages.

Small lists are dominated by fixed costs (interpreter start-up, imports, opening the
store, worker start-up, the search index), which the in-process benchmark
(``throughput.py``) does not see. Here every run is a fresh process, timed from process
start to exit:

    ceiling   a plain httpx fetch script of the same pages, same concurrency
    monitor   python -m monitor --data-dir D check --watchlist W
    before    the same, from another source tree (--baseline, e.g. main), interleaved
    search    (--search-row) ``monitor search`` right after monitor's check: the first
              search indexes what the checks recorded (checks leave it to the readers)
    urlwatch  urlwatch with a CSS selector and html2text (--urlwatch PATH, or found on
              PATH), installed in a scratch virtual environment, never a project
              dependency; skipped with a message when it is not installed

Scenarios as in throughput.py: first capture (a fresh data directory, urlwatch cache
and monitor watchlist cache every round: what a new user's first check costs),
unchanged, changed (10% of pages, alternating back), noisy; these run with the state
the first capture left, monitor's watchlist cache included (config/cache.py).

Every tool runs from compiled bytecode, as installed software does: the benchmark
compiles monitor's sources first and drops PYTHONDONTWRITEBYTECODE from the tools'
environment (with it, an editable install recompiles every module of monitor in every
process, ~0.1 s, while pip compiled urlwatch's at install time).

Each figure is the median of --rounds runs, wall time and CPU time (user + sys of the
whole process tree, from ``getrusage(RUSAGE_CHILDREN)``: a shared machine inflates it far
less than wall time), with the 1-minute load average at the time. The tools run
interleaved, their order rotating every round, so that a burst of load on the machine
hits all of them alike.

    python benchmarks/process_bench.py [--sizes 20,200,2000] [--concurrency 8] [--rounds 3]
    python benchmarks/process_bench.py --urlwatch /tmp/uw/bin/urlwatch --baseline /tmp/main
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
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

SCENARIOS = ("first", "unchanged", "changed", "noisy")
TOOLS = ("ceiling", "monitor", "before", "urlwatch", "search")


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float  # user + sys of the process and the children it waited for
    load: float  # 1-minute load average when it started


def tool_environment(**extra: str) -> dict[str, str]:
    """The environment every tool runs in: bytecode written and read, as installed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def compile_sources(*trees: str) -> None:
    """Compile monitor's modules once, so that no timed run pays for it."""
    for tree in trees:
        package = Path(tree) / "monitor"
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


def timed(command: list[str], env: dict[str, str] | None = None) -> Run:
    """One process from start to exit; the command must succeed."""
    env = env or tool_environment()
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # Not from the source tree: ``python -m`` puts the working directory first on the
    # path, which would run that tree's monitor whatever PYTHONPATH (--baseline) says.
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir()
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{command[:4]} failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Run(wall, cpu, load)


def urlwatch_files(folder: Path, urls: list[str]) -> tuple[Path, Path]:
    """A urlwatch job per page (``css: main`` then ``html2text``) and a quiet config."""
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
    return jobs, config


def find_urlwatch(given: str | None) -> str | None:
    found = given or shutil.which("urlwatch")
    if found is None:
        print(
            "urlwatch not installed: its comparison is skipped. Install it in a scratch "
            "virtual environment (python3 -m venv /tmp/uw && /tmp/uw/bin/pip install urlwatch "
            "html2text cssselect) and pass --urlwatch /tmp/uw/bin/urlwatch",
            file=sys.stderr,
        )
    return found


@dataclass
class Tools:
    """The commands of one page-list size; ``generation`` picks fresh state directories."""

    folder: Path
    watchlist: Path
    url_file: Path
    concurrency: int
    urlwatch: str | None
    baseline: str | None
    search: bool = False
    generation: int = 0

    def commands(self) -> dict[str, tuple[list[str], dict[str, str] | None]]:
        state = self.folder / f"g{self.generation}"
        state.mkdir(exist_ok=True)
        ceiling = [sys.executable, "-c", CEILING_SCRIPT.format(c=self.concurrency)]
        # monitor's watchlist start-up cache (config/cache.py) lives with the round's
        # state: cold for a first capture, as for a new user; warm for the checks after.
        cache = str(state / "cache")
        tools: dict[str, tuple[list[str], dict[str, str] | None]] = {
            "ceiling": ([*ceiling, str(self.url_file)], None),
            "monitor": (self._monitor(state / "data"), tool_environment(MONITOR_CACHE_DIR=cache)),
        }
        if self.baseline:
            env = tool_environment(PYTHONPATH=self.baseline, MONITOR_CACHE_DIR=cache)
            tools["before"] = (self._monitor(state / "data-before"), env)
        if self.urlwatch:  # its jobs and config are written once (urlwatch_files)
            command = [self.urlwatch, "--urls", str(self.folder / "urls.yaml")]
            command += ["--config", str(self.folder / "urlwatch.yaml")]
            command += ["--cache", str(state / "urlwatch.db")]
            tools["urlwatch"] = (command, None)
        return tools

    def search_command(self) -> list[str]:
        """The first search after monitor's check (it indexes what the check recorded)."""
        data = self.folder / f"g{self.generation}" / "data"
        return [sys.executable, "-m", "monitor", "--data-dir", str(data), "search", "维族"]

    def _monitor(self, data: Path) -> list[str]:
        command = [sys.executable, "-m", "monitor", "--data-dir", str(data), "check"]
        return [*command, "--watchlist", str(self.watchlist)]


def measure_size(
    size: int, args: argparse.Namespace, urlwatch: str | None, report: Callable[..., None]
) -> None:
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
        if urlwatch:
            urlwatch_files(folder, urls)
        tools = Tools(
            folder, watchlist, url_file, args.concurrency, urlwatch, args.baseline, args.search
        )
        runs: dict[tuple[str, str], list[Run]] = {}
        scenarios = args.scenarios.split(",")
        turn = 0

        def round_of(scenario: str, served: str) -> None:
            nonlocal turn
            server.set_scenario(served)
            commands = list(tools.commands().items())
            turn += 1
            shift = turn % len(commands)
            for name, (command, env) in commands[shift:] + commands[:shift]:
                runs.setdefault((scenario, name), []).append(timed(command, env))
            if tools.search:
                runs.setdefault((scenario, "search"), []).append(timed(tools.search_command()))

        for _ in range(args.rounds):  # fresh state each round: a first capture, then again
            tools.generation += 1
            round_of("first", "v0")
            if "unchanged" in scenarios:
                round_of("unchanged", "v0")
        for _ in range(args.rounds if "changed" in scenarios else 0):
            round_of("changed", "changed")
            round_of("changed", "v0")  # and back: every round changes 10% of pages
        for _ in range(args.rounds if "noisy" in scenarios else 0):
            round_of("noisy", "noisy")  # fresh noise every round
        for scenario in SCENARIOS:
            if (scenario, "ceiling") in runs:
                report(size, scenario, runs)


def print_rows(size: int, scenario: str, runs: dict[tuple[str, str], list[Run]]) -> None:
    roof = statistics.median(r.wall for r in runs[(scenario, "ceiling")])
    uw = runs.get((scenario, "urlwatch"))
    uw_wall = statistics.median(r.wall for r in uw) if uw else None
    for tool in TOOLS:
        values = runs.get((scenario, tool))
        if not values:
            continue
        wall = statistics.median(r.wall for r in values)
        cpu = statistics.median(r.cpu for r in values)
        load = statistics.median(r.load for r in values)
        versus = f"{uw_wall / wall:8.2f}" if uw_wall and tool != "urlwatch" else f"{'-':>8}"
        print(
            f"{size:>6} {scenario:<10}{tool:<10}{wall:8.2f}{cpu:8.2f}{roof / wall:8.2f}"
            f"{versus}{load:7.1f}{len(values):4d}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,200,2000")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--urlwatch", help="a urlwatch executable (default: urlwatch on PATH)")
    parser.add_argument("--baseline", help="another monitor source tree, run as 'before'")
    parser.add_argument(
        "--search-row",
        dest="search",
        action="store_true",
        help="also time the first 'monitor search' after each of monitor's checks",
    )
    args = parser.parse_args()
    urlwatch = find_urlwatch(args.urlwatch)
    root = str(Path(__file__).resolve().parent.parent)
    compile_sources(root, *([args.baseline] if args.baseline else []))
    print(f"load average at start: {Path('/proc/loadavg').read_text().strip()}")
    print("wall and CPU in seconds (medians); ratio = ceiling wall / wall; x urlwatch =")
    print("urlwatch wall / wall (above 1: faster than urlwatch); load = 1-minute average")
    print(
        f"{'pages':>6} {'scenario':<10}{'tool':<10}{'wall':>8}{'CPU':>8}{'ratio':>8}"
        f"{'x uw':>8}{'load':>7}{'n':>4}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        measure_size(size, args, urlwatch, print_rows)


if __name__ == "__main__":
    main()
