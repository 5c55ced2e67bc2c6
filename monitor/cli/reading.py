"""Reading the evidence: ``changes``, ``diff``, ``history``, ``show``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from ..errors import MonitorError
from .common import Context, parse_time_option


@click.command()
@click.option(
    "--since",
    callback=parse_time_option,
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
    obj: Context, since: datetime | None, watch_name: str | None, flagged: bool, output_format: str
) -> None:
    """List change events, oldest first.

    \b
    Examples:
      monitor changes --flagged
      monitor changes --since 2026-01-01 --watch aliyun-cloud-shield-face-api --format json
    """
    from ..report import change_to_json, changes_text

    with obj.store() as store:
        if watch_name:
            store.require_watch(watch_name)
        rows = store.changes(since=since, watch=watch_name, flagged=flagged)
        if output_format == "json":
            click.echo(json.dumps([change_to_json(r) for r in rows], ensure_ascii=False, indent=2))
        else:
            click.echo(changes_text(rows))


@click.command()
@click.argument("change_id", type=int)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    help="Also write a self-contained HTML report to this file.",
)
@click.pass_obj
def diff(obj: Context, change_id: int, html_path: str | None) -> None:
    """Show one change: removed and added wording in context.

    \b
    Examples:
      monitor diff 12
      monitor diff 12 --html change-12.html
    """
    from ..report import change_html, change_text, load_change

    with obj.store() as store:
        view = load_change(store, change_id)
        click.echo(change_text(view))
        if html_path:
            Path(html_path).write_text(change_html(view), encoding="utf-8")
            click.echo(f"\nHTML report: {Path(html_path).resolve()}")


@click.command()
@click.argument("name")
@click.pass_obj
def history(obj: Context, name: str) -> None:
    """The captures of one watch, oldest first.

    \b
    Example:
      monitor history aliyun-cloud-shield-face-api
    """
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


@click.command()
@click.argument("name")
@click.option("--at", "at", callback=parse_time_option, help="ISO-8601 time (default: now).")
@click.pass_obj
def show(obj: Context, name: str, at: datetime | None) -> None:
    """The text of a watch as it stood at a time.

    \b
    Examples:
      monitor show aliyun-cloud-shield-face-api
      monitor show aliyun-cloud-shield-face-api --at 2020-12-10T00:00:00Z
    """
    from ..documents.document import Document
    from ..model import utc_now

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
