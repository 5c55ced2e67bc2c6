"""``monitor check`` and ``monitor run``: checking once, or on a schedule."""

from __future__ import annotations

import sys

import click

from ..check import CheckResult
from ..config.watchlist import load_watchlist
from ..model import Outcome
from .common import Context, watchlist_option


def result_line(result: CheckResult) -> str:
    events = f"  events: {', '.join(result.events)}" if result.events else ""
    flag = "  FLAGGED" if result.flagged else ""
    error = f"  ({result.error})" if result.error else ""
    return f"{result.watch:<40} {result.outcome:<16}{events}{flag}{error}"


@click.command()
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
def check(obj: Context, watchlist_path: str, workers: int, names: tuple[str, ...]) -> None:
    """Check the named watches (default: all) once, now.

    \b
    Examples:
      monitor check --watchlist watchlists/face-and-moderation.yaml
      monitor check --watchlist my.yaml aliyun-cloud-shield-face-api
    """
    from ..run.once import check_once, summarize

    watchlist = load_watchlist(watchlist_path)
    watches = watchlist.select(names)
    results = check_once(obj.data_dir, watchlist, watches, workers)
    for result in results:
        click.echo(result_line(result))
    click.echo(summarize(results))
    if any(r.outcome == Outcome.INTERNAL_ERROR for r in results):
        sys.exit(1)


@click.command()
@watchlist_option
@click.option(
    "--startup-spread",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    help="Seconds over which watches that are due at start-up are spread.",
)
@click.pass_obj
def run(obj: Context, watchlist_path: str, startup_spread: float) -> None:
    """Check every watch on its schedule until stopped.

    Ctrl-C or SIGTERM stop it after the checks in flight are written.

    After a restart each watch is next due one interval after its last recorded check.

    \b
    Example:
      monitor run --watchlist watchlists/face-and-moderation.yaml
    """
    import asyncio

    from ..check import check_session, thresholds
    from ..fetch.http import FetchPolicy
    from ..run.scheduler import Runner

    watchlist = load_watchlist(watchlist_path)

    async def main() -> None:
        with obj.store() as store:
            policy = FetchPolicy.from_settings(watchlist.settings)
            async with check_session(store, policy, thresholds(watchlist.settings)) as checker:
                runner = Runner(
                    checker,
                    store,
                    watchlist.watches,
                    startup_spread=startup_spread,
                    on_result=lambda r: click.echo(result_line(r)),
                )
                click.echo(
                    f"monitoring {len(watchlist.watches)} watch(es); data in "
                    f"{store.location}; stop with Ctrl-C"
                )
                await runner.run()

    asyncio.run(main())
    click.echo("stopped cleanly")
