"""Command line (DESIGN.md section 4). Researchers script against it: keep it stable.

Exit status: 0 success; 2 bad usage or an invalid watchlist (the message names the
file, the entry and the field); 1 an internal error. Fetch failures are recorded as
events, not exit codes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import MonitorError
from .events import Thresholds
from .extract import Document
from .fetch import Fetcher, FetchPolicy
from .pipeline import Checker, CheckResult, watch_config
from .report import change_html, change_text, change_to_json, changes_text, load_change
from .store import DEFAULT_DATA_DIR, Store, parse_time
from .watchlist import Settings, Watch, Watchlist, load_watchlist


def _time_option(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 time ({error})") from error


class _Context:
    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir

    def store(self) -> Store:
        return Store(self.data_dir)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    envvar="MONITOR_DATA_DIR",
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Where captures and changes are kept (or set MONITOR_DATA_DIR).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="monitor")
@click.pass_context
def cli(ctx: click.Context, data_dir: str, verbose: int) -> None:
    """Watch public vendor documentation and report exactly which wording changed."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = _Context(data_dir)


def fetch_policy(settings: Settings, **overrides: Any) -> FetchPolicy:
    contact = settings.user_agent_contact or os.environ.get("MONITOR_CONTACT")
    policy = FetchPolicy(
        max_connections=settings.max_connections,
        per_host=settings.per_host,
        host_delay=settings.host_delay,
        retries=settings.retries,
        connect_timeout=min(settings.timeout, 10.0),
        read_timeout=settings.timeout,
        max_bytes=int(settings.max_body_mb * 1024 * 1024),
        contact=contact,
    )
    return dataclasses.replace(policy, **overrides)


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(unreachable_after=settings.unreachable_after, gone_after=settings.gone_after)


async def run_checks(
    store: Store, watchlist: Watchlist, watches: Sequence[Watch], policy: FetchPolicy | None = None
) -> list[CheckResult]:
    """Check watches once, concurrently (the per-host limit applies)."""
    async with Fetcher(policy or fetch_policy(watchlist.settings)) as fetcher:
        checker = Checker(store, fetcher, thresholds(watchlist.settings))
        try:
            return await checker.check_all(watches)
        finally:
            checker.close()


def default_workers(watch_count: int) -> int:
    """Measured: a worker process costs ~0.5 s to start and pays off past ~200 pages.

    >>> default_workers(50), default_workers(2000) >= 1
    (1, True)
    """
    if watch_count < 200:
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def summarize(results: Sequence[CheckResult]) -> str:
    changed = sum(r.changed for r in results)
    flagged = sum(r.flagged for r in results)
    failed = sum(r.outcome in ("transient", "error", "internal_error") for r in results)
    return f"checked {len(results)}, changed {changed}, flagged {flagged}, failed {failed}"


def _result_line(result: CheckResult) -> str:
    events = f"  events: {', '.join(result.events)}" if result.events else ""
    flag = "  FLAGGED" if result.flagged else ""
    error = f"  ({result.error})" if result.error else ""
    return f"{result.watch:<40} {result.outcome:<16}{events}{flag}{error}"


watchlist_option = click.option(
    "--watchlist",
    "watchlist_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The watchlist YAML file.",
)


@cli.command()
@watchlist_option
@click.option(
    "--workers",
    type=click.IntRange(min=0, max=64),
    default=0,
    help="Processes to check with; the connection and per-host limits are shared "
    "between them. Default (0): one below 200 watches, else one per CPU (at most 4).",
)
@click.argument("names", nargs=-1)
@click.pass_obj
def check(obj: _Context, watchlist_path: str, workers: int, names: tuple[str, ...]) -> None:
    """Check the named watches (default: all) once, now."""
    watchlist = load_watchlist(watchlist_path)
    watches = watchlist.select(names)
    workers = workers or default_workers(len(watches))
    if workers > 1:
        from .parallel import check_in_processes

        with obj.store() as store:
            store.ensure_watches([(w.name, w.url, watch_config(w)) for w in watches])
        # Closed before the workers start, so that they can be forked (parallel.py).
        results = check_in_processes(
            store.location,
            watches,
            fetch_policy(watchlist.settings),
            thresholds(watchlist.settings),
            workers,
        )
    else:
        with obj.store() as store:
            results = asyncio.run(run_checks(store, watchlist, watches))
    for result in results:
        click.echo(_result_line(result))
    click.echo(summarize(results))
    if any(r.outcome == "internal_error" for r in results):
        sys.exit(1)


@cli.command()
@watchlist_option
@click.option(
    "--startup-spread",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    help="Seconds over which watches that are due at start-up are spread.",
)
@click.pass_obj
def run(obj: _Context, watchlist_path: str, startup_spread: float) -> None:
    """Check every watch on its schedule until stopped (Ctrl-C or SIGTERM).

    After a restart each watch is next due one interval after its last recorded check.
    """
    from .scheduler import Runner

    watchlist = load_watchlist(watchlist_path)

    async def main() -> None:
        with obj.store() as store:
            async with Fetcher(fetch_policy(watchlist.settings)) as fetcher:
                checker = Checker(store, fetcher, thresholds(watchlist.settings))
                runner = Runner(
                    checker,
                    watchlist.watches,
                    startup_spread=startup_spread,
                    on_result=lambda r: click.echo(_result_line(r)),
                )
                click.echo(
                    f"monitoring {len(watchlist.watches)} watch(es); data in "
                    f"{store.location}; stop with Ctrl-C"
                )
                try:
                    await runner.run()
                finally:
                    checker.close()

    asyncio.run(main())
    click.echo("stopped cleanly")


@cli.command()
@click.option(
    "--since",
    callback=lambda _c, _p, v: _time_option(v),
    help="Only events detected at or after this ISO-8601 time.",
)
@click.option("--watch", "watch_name", help="Only this watch.")
@click.option("--flagged", is_flag=True, help="Only events that changed a watched term.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.pass_obj
def changes(
    obj: _Context, since: datetime | None, watch_name: str | None, flagged: bool, output_format: str
) -> None:
    """List change events, oldest first."""
    with obj.store() as store:
        if watch_name:
            store.require_watch(watch_name)
        rows = store.changes(since=since, watch=watch_name, flagged=flagged)
        if output_format == "json":
            click.echo(json.dumps([change_to_json(r) for r in rows], ensure_ascii=False, indent=2))
        else:
            click.echo(changes_text(rows))


@cli.command()
@click.argument("change_id", type=int)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    help="Also write a self-contained HTML report to this file.",
)
@click.pass_obj
def diff(obj: _Context, change_id: int, html_path: str | None) -> None:
    """Show one change: removed and added wording in context."""
    with obj.store() as store:
        view = load_change(store, change_id)
        click.echo(change_text(view))
        if html_path:
            Path(html_path).write_text(change_html(view), encoding="utf-8")
            click.echo(f"\nHTML report: {Path(html_path).resolve()}")


@cli.command()
@click.argument("name")
@click.pass_obj
def history(obj: _Context, name: str) -> None:
    """The captures of one watch, oldest first."""
    with obj.store() as store:
        rows = store.captures(name)
    click.echo(
        f"{'id':>6}  {'fetched (UTC)':<27} {'status':>6}  {'outcome':<16} "
        f"{'body sha256':<16} final URL / error"
    )
    for row in rows:
        sha = (row["body_sha256"] or "-")[:16]
        tail = row["error"] or row["final_url"] or ""
        click.echo(
            f"{row['id']:>6}  {row['fetched_at']:<27} {row['status'] or '-':>6}  "
            f"{row['outcome']:<16} {sha:<16} {tail}"
        )


@cli.command()
@click.argument("name")
@click.option(
    "--at", "at", callback=lambda _c, _p, v: _time_option(v), help="ISO-8601 time (default: now)."
)
@click.pass_obj
def show(obj: _Context, name: str, at: datetime | None) -> None:
    """The text of a watch as it stood at a time."""
    from .store import utc_now

    with obj.store() as store:
        row = store.capture_at(name, at or utc_now())
        if row is None:
            raise MonitorError(f"watch {name!r} has no capture with text at or before that time")
        document = Document.from_json(store.get_blob(row["text_sha256"]))
    click.echo(
        f"# {name} as captured {row['fetched_at']} (capture {row['id']}, "
        f"body sha256 {row['body_sha256']})"
    )
    click.echo(document.text)


@cli.command()
@click.pass_obj
def verify(obj: _Context) -> None:
    """Check the store: SQLite integrity and every blob against its hash."""
    with obj.store() as store:
        problems = store.verify()
    for problem in problems:
        click.echo(problem)
    click.echo("store OK" if not problems else f"{len(problems)} problem(s)")
    if problems:
        sys.exit(1)


@cli.group("watchlist")
def watchlist_group() -> None:
    """Validate a watchlist, or tune a watch before trusting it."""


@watchlist_group.command("validate")
@click.argument("path", type=click.Path(dir_okay=False))
def watchlist_validate(path: str) -> None:
    """Check a watchlist file without fetching anything."""
    watchlist = load_watchlist(path)
    for watch in watchlist.watches:
        click.echo(f"{watch.name:<40} {watch.schedule:<22} {watch.url}")
    click.echo(f"{path}: {len(watchlist.watches)} watch(es), valid")


@watchlist_group.command("test")
@click.argument("path", type=click.Path(dir_okay=False))
@click.argument("name")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds between the two fetches.",
)
def watchlist_test(path: str, name: str, wait: float) -> None:
    """Fetch a watch twice; show its noise, suggested ignore rules and what select keeps."""
    from .tune import show_tuning

    watchlist = load_watchlist(path)
    (watch,) = watchlist.select([name])
    policy = fetch_policy(watchlist.settings, host_delay=0.0)
    for line in asyncio.run(show_tuning(watch, policy, wait)):
        click.echo(line)


@cli.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Offline end-to-end demonstration of the 2020 Cloud Shield case."""
    from .demo import run_demo

    explicit = ctx.find_root().params.get("data_dir")
    source = ctx.find_root().get_parameter_source("data_dir")
    data_dir = explicit if source is not None and source.name != "DEFAULT" else None
    run_demo(data_dir, echo=click.echo)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: typed errors become messages and exit codes, never tracebacks."""
    try:
        cli.main(args=argv, prog_name="monitor", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except MonitorError as error:
        click.echo(f"monitor: {error}", err=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        logging.getLogger("monitor").debug("internal error", exc_info=True)
        click.echo(
            f"monitor: internal error: {type(error).__name__}: {error} "
            "(run with -vv for a traceback and please report it)",
            err=True,
        )
        sys.exit(1)
