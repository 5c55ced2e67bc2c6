"""``monitor worker``, ``monitor migrate`` and ``monitor run`` on a PostgreSQL store."""

from __future__ import annotations

import asyncio
import sys

import click

from ..config.watchlist import Watchlist
from ..errors import ConfigError
from ..store import StoreSpec, open_store
from .common import Context, say


def _postgres(spec: StoreSpec, command: str):  # type: ignore[no-untyped-def]
    """Open the PostgreSQL store, or say how to name one."""
    if not spec.postgres:
        raise ConfigError(
            f"monitor {command} needs a PostgreSQL store: --store postgresql://… (or "
            f"MONITOR_STORE) and --blobs DIR-or-s3://bucket/prefix; got {spec.location!r}"
        )
    return open_store(spec)


def no_sites_yet(watchlist: Watchlist) -> None:
    """The queue holds watch checks: site discovery and language comparisons run in
    ``monitor check``, not in the workers (yet)."""
    if watchlist.sites or watchlist.counterparts:
        raise ConfigError(
            "monitor run on a PostgreSQL store queues plain watches only; discover sites "
            "and compare counterparts with 'monitor check --watchlist FILE' (from cron) "
            "against the same store, or run them with --data-dir"
        )


def enqueue_forever(obj: Context, watchlist: Watchlist, startup_spread: float) -> None:
    """`monitor run` against PostgreSQL: enqueue each watch's checks as they fall due."""
    from ..run.distributed import ENQUEUE_EVERY, run_enqueuer
    from ..search.background import BackgroundIndexer

    def report(deferred: list[tuple[str, object]]) -> None:
        for name, due in deferred:
            say(f"{name:<40} queued for {due}")
        indexer.poke()  # index what the workers recorded since the last round

    # The workers record; the search index follows here, in one place (its own thread).
    with _postgres(obj.spec, "run") as store, BackgroundIndexer(store) as indexer:
        say(
            f"queueing checks of {len(watchlist.watches)} watch(es) in {store.location} every "
            f"{ENQUEUE_EVERY:g}s; `monitor worker` processes run them; stop with Ctrl-C"
        )
        asyncio.run(
            run_enqueuer(store, watchlist.watches, watchlist.settings,
                         spread=startup_spread, on_round=report)
        )
    say("stopped cleanly")


@click.command()
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=256),
    default=None,
    help="Checks this worker runs at once (default: the watchlist's max_connections).",
)
@click.option(
    "--stalled-after",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds without a heartbeat after which a worker's checks go to the others.",
)
@click.option("--name", help="This worker's name in logs (default: host:pid).")
@click.option(
    "--until-idle", is_flag=True, help="Stop when the queue has nothing due (for batch runs)."
)
@click.pass_obj
def worker(
    obj: Context, concurrency: int | None, stalled_after: float, name: str | None, until_idle: bool
) -> None:
    """Run a PostgreSQL store's queued checks, with other workers.

    `monitor run` on the same store queues each watch when due. Per-host limits and
    spacing hold across all workers; a killed worker's checks are retried by the others
    without recording anything twice. Ctrl-C or SIGTERM finish the checks in flight.

    \b
    Example:
      export MONITOR_STORE=postgresql://monitor@db.example/monitor
      export MONITOR_BLOBS=s3://evidence-bucket/monitor
      monitor worker --concurrency 16
    """
    from ..run.distributed import run_worker

    with _postgres(obj.spec, "worker") as store:
        say(f"worker on {store.location}; stop with Ctrl-C", err=True)
        asyncio.run(
            run_worker(store, concurrency=concurrency, stalled_after=stalled_after, name=name,
                       wait=not until_idle)
        )


@click.command()
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(file_okay=False, exists=True),
    help="The data directory to copy (SQLite + blobs).",
)
@click.option("--to", "target", required=True, help="The PostgreSQL store: postgresql://…")
@click.option(
    "--batch",
    type=click.IntRange(min=1, max=100_000),
    default=2000,
    show_default=True,
    help="Rows per transaction (a stopped copy resumes after its last batch).",
)
@click.pass_obj
def migrate(obj: Context, source: str, target: str, batch: int) -> None:
    """Copy a data directory into a PostgreSQL store, verifying it.

    Blobs go to --blobs (a directory or s3://bucket/prefix). Every blob is re-hashed on
    the way and the copy is verified at the end (exit 3 if anything does not verify).
    Stopped at any moment, it resumes where it was; run again, it copies only what is new.

    \b
    Example:
      monitor --blobs s3://evidence-bucket/monitor migrate --from monitor-data \\
          --to postgresql://monitor@db.example/monitor
    """
    from ..evidence.chain import verify_entries
    from ..evidence.service import verify_store
    from ..search import catch_up as search_catch_up
    from ..store.sqlite import SQLiteStore
    from ..store.transfer import compare_counts, copy_directory

    spec = StoreSpec(target, obj.spec.blobs)
    with SQLiteStore(source) as directory:
        # The directory's blobs, chain and signed checkpoints, before anything is copied.
        problems = verify_store(directory).problems
        if problems:
            for problem in problems:
                say(problem)
            say(f"{source}: {len(problems)} problem(s); fix them before copying")
            sys.exit(3)
        with _postgres(spec, "migrate") as store:
            report = copy_directory(directory, store, batch=batch, progress=say)
            problems = compare_counts(directory, store) + store.verify()
            walk = verify_entries(store.chain_entries())  # the copy's chain, re-hashed
            problems += walk.problems
            if walk.head != directory.chain_head():
                problems.append(f"chain: the copy ends at {walk.head}, the directory at "
                                f"{directory.chain_head()}")  # fmt: skip
            search_catch_up(store)  # the copy is searchable at once (derived data)
    for problem in problems:
        say(problem)
    say(
        f"copied {report.captures} capture(s), {report.changes} change(s), {report.blobs} "
        f"blob(s); {report.watches} watch(es) in all"
    )
    if problems:
        say(f"{len(problems)} problem(s) after the copy")
        sys.exit(3)
    say("copy verified")
