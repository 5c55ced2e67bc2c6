"""Public archives: ``import wayback`` (history) and ``witness`` (Save Page Now)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import click

from .common import Context, echo_json, parse_time_option, say


@click.group("import")
def import_group() -> None:
    """Bring a page's history from a public archive into the store.

    \b
    Example:
      monitor import wayback aliyun-cloud-shield-face-api --from 2019-01-01
    """


def _end_of_day_if_date(ctx: Any, param: Any, value: str | None) -> datetime | None:
    """``--to 2020-12-31`` means the whole of that day; a time given is taken as is."""
    moment = parse_time_option(ctx, param, value)
    if moment is not None and value is not None and len(value.strip()) == 10:
        moment = moment.replace(hour=23, minute=59, second=59)
    return moment


@import_group.command("wayback")
@click.argument("name")
@click.option(
    "--from",
    "from_",
    callback=parse_time_option,
    help="Only captures archived at or after this ISO-8601 time.",
)
@click.option(
    "--to",
    callback=_end_of_day_if_date,
    help="Only captures archived at or before this ISO-8601 time (a date: its end).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help="Import at most this many new captures (run again for the next ones).",
)
@click.option(
    "--watchlist",
    "watchlist_path",
    type=click.Path(dir_okay=False),
    help="Register the watch from this watchlist first (else it must be in the data "
    "directory already).",
)
@click.pass_obj
def import_wayback(
    obj: Context,
    name: str,
    from_: datetime | None,
    to: datetime | None,
    limit: int | None,
    watchlist_path: str | None,
) -> None:
    """Import a watch's archived history from the Wayback Machine.

    Lists the watch URL's captures with the CDX API (exact URL, identical copies once),
    fetches each in raw form, politely paced, and records it with its provenance; the
    change events found across them are dated by the archive's time. Re-running adds
    only what is new; an interrupted import resumes. MONITOR_WAYBACK_URL points it at
    a mirror.

    \b
    Examples:
      monitor import wayback aliyun-cloud-shield-face-api
      monitor import wayback aliyun-cloud-shield-face-api --from 2020-01-01 --to 2021-06-30
    """
    from ..archives.client import WaybackClient
    from ..archives.imports import Importer
    from ..check import watch_config
    from ..config.watchlist import load_watchlist

    if from_ is not None and to is not None and from_ > to:
        raise click.BadParameter("--from is later than --to", param_hint="--from")

    async def main() -> None:
        with obj.store(create=bool(watchlist_path)) as store:
            if watchlist_path:
                (watch,) = load_watchlist(watchlist_path).select([name])
                store.ensure_watches([(watch.name, watch.url, watch_config(watch))])
            store.require_watch(name)
            say(f"importing the Wayback Machine's captures of {name} ...")
            async with WaybackClient() as client:
                report = await Importer(store, client, echo=say).run(
                    name, from_=from_, to=to, limit=limit
                )
        say(report.summary())
        for change_id in report.events:
            say(f"  change #{change_id} (derived from archived copies): monitor diff {change_id}")
        if report.digest_mismatches:
            say(
                f"note: {len(report.digest_mismatches)} copy(ies) differ from the archive's "
                "own digest (often a content-encoding difference); our SHA-256 is of the "
                "bytes received"
            )
        if not report.complete:
            say("not everything was imported; run the same command again to continue")

    asyncio.run(main())


@click.group("witness")
def witness_group() -> None:
    """Save Page Now witnesses of changes: list them, or work the queue now.

    \b
    Example:
      monitor witness list --format json
    """


@witness_group.command("list")
@click.option(
    "--status",
    type=click.Choice(["pending", "archived", "failed"]),
    help="Only witnesses in this state.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.pass_obj
def witness_list(obj: Context, status: str | None, output_format: str) -> None:
    """Every witness request and what became of it, oldest first.

    \b
    Examples:
      monitor witness list
      monitor witness list --status failed --format json
    """
    from ..report.json import witness_to_json

    with obj.store(read_only=True) as store:
        rows = store.witnesses(status=status)
    found = [witness_to_json(r) for r in rows]
    if output_format == "json":
        echo_json(found)
        return
    if not found:
        say("no witnesses")
    for item in found:
        where = item["archived_url"] or item["reason"] or ""
        say(f"change #{item['change_id']:<5} {item['archive']:<8} {item['status']:<9} {where}")


@witness_group.command("work")
@click.option(
    "--for",
    "for_seconds",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Keep working until nothing is pending or this many seconds have passed (0: one pass).",
)
@click.pass_obj
def witness_work(obj: Context, for_seconds: float) -> None:
    """Work the witness queue now (``monitor run`` does this in the background).

    For scheduled one-shot use, after ``monitor check`` from cron. Submits what the
    archive's limits allow, follows running captures, fetches archived copies back.

    \b
    Examples:
      monitor witness work
      monitor witness work --for 600
    """
    from ..run.lock import checking_lock
    from ..run.witnesses import work_queue

    # One worker per store: `monitor run` works a data directory's queue itself.
    if obj.spec.postgres:
        with obj.store() as store, store.witness_lock():  # type: ignore[attr-defined]
            done = asyncio.run(work_queue(store, for_seconds=for_seconds))
    else:
        with checking_lock(obj.spec.location, "witness work"), obj.store() as store:
            done = asyncio.run(work_queue(store, for_seconds=for_seconds))
    say(
        f"submitted {done.submitted}, archived {done.archived}, copies checked "
        f"{done.verified}, failed {done.failed}, waiting {done.postponed}"
    )
    for note in done.notes:
        say(f"  {note}")
