"""Reading the evidence: ``changes``, ``diff``, ``history``, ``show``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import ConfigError, NotFoundError
from ..safe import one_line
from .common import Context, echo_json, format_option, parse_time_option, say

if TYPE_CHECKING:
    from ..store import EvidenceStore, Row


@click.command()
@click.option(
    "--since",
    callback=parse_time_option,
    help="Only events detected at or after this ISO-8601 time.",
)
@click.option("--watch", "watch_name", help="Only this watch.")
@click.option("--flagged", is_flag=True, help="Only events that changed a watched term.")
@format_option("text", "json", "atom")
@click.pass_obj
def changes(
    obj: Context, since: datetime | None, watch_name: str | None, flagged: bool, output_format: str
) -> None:
    """List change events, oldest first.

    \b
    Examples:
      monitor changes --flagged
      monitor changes --since 2026-01-01 --watch aliyun-cloud-shield-face-api --format json
      monitor changes --flagged --format atom > flagged.atom
    """
    from ..report.json import change_to_json
    from ..report.text import changes_text

    with obj.store(read_only=True) as store:
        if watch_name:
            store.require_watch(watch_name)
        rows = store.changes(since=since, watch=watch_name, flagged=flagged)
        if output_format == "json":
            echo_json([change_to_json(r) for r in rows])
        elif output_format == "atom":  # an Atom feed, newest first, for feed readers
            click.echo(_atom(store, rows, since, watch_name, flagged), nl=False)  # xml_safe
        else:
            say(changes_text(rows))


def _atom(
    store: EvidenceStore,
    rows: list[Row],
    since: datetime | None,
    watch_name: str | None,
    flagged: bool,
) -> str:
    """The feed's filters name it (and make its id): the same filters, the same feed."""
    from ..report.atom import changes_atom, feed_selection
    from ..store.base import ChangeFilter

    selection = feed_selection(ChangeFilter(watch=watch_name, flagged=flagged, since=since))
    watches = {row["watch"]: store.watch_config(row["watch"]) for row in rows}
    title = "monitor: changes" + (f" ({selection})" if selection else "")
    return changes_atom(rows, title=title, selection=selection, watches=watches).decode("utf-8")


@click.command()
@click.argument("change_id", type=int)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    help="Also write a self-contained HTML report to this file.",
)
@format_option()
@click.pass_obj
def diff(obj: Context, change_id: int, html_path: str | None, output_format: str) -> None:
    """Show one change: removed and added wording in context.

    \b
    Examples:
      monitor diff 12
      monitor diff 12 --html change-12.html
      monitor diff 12 --format json
    """
    from ..report.html import change_html
    from ..report.text import change_text
    from ..report.view import load_change

    report = Path(html_path) if html_path else None
    if report is not None and not report.resolve().parent.is_dir():
        raise ConfigError(
            f"cannot write the HTML report to {report}: the folder {report.parent} does not "
            "exist; create it or pick another path"
        )
    with obj.store(read_only=True) as store:
        view = load_change(store, change_id)
        if output_format == "json":
            echo_json({**view.event, "detail": view.detail})
        else:
            say(change_text(view))
        if report is not None:
            report.write_text(change_html(view, written_to=report), encoding="utf-8")
            if output_format != "json":
                say(f"\nHTML report: {report.resolve()}")


@click.command()
@click.argument("name")
@format_option()
@click.pass_obj
def history(obj: Context, name: str, output_format: str) -> None:
    """The captures of one watch, oldest first.

    \b
    Examples:
      monitor history aliyun-cloud-shield-face-api
      monitor history aliyun-cloud-shield-face-api --format json
    """
    from ..report.json import capture_to_json

    with obj.store(read_only=True) as store:
        rows = store.captures(name)
    if output_format == "json":
        echo_json([capture_to_json(row) for row in rows])
        return
    say(
        f"{'id':>6}  {'fetched (UTC)':<27} {'status':>6}  {'outcome':<16} "
        f"{'body sha256':<16} final URL / error"
    )
    for row in rows:
        sha = (row["body_sha256"] or "-")[:16]
        tail = one_line(row["error"] or row["final_url"] or "")
        when = row["fetched_at"]
        if row.get("source"):
            # An imported copy: the archive's time is when the page looked like this.
            when = row["archived_at"]
            tail = f"{row['source']} {row['archive_url']} (fetched {row['fetched_at']}) {tail}"
        say(
            f"{row['id']:>6}  {when:<27} {row['status'] or '-':>6}  "
            f"{row['outcome']:<16} {sha:<16} {tail}"
        )


@click.command()
@click.argument("name")
@click.option("--at", "at", callback=parse_time_option, help="ISO-8601 time (default: now).")
@format_option()
@click.pass_obj
def show(obj: Context, name: str, at: datetime | None, output_format: str) -> None:
    """The text of a watch as it stood at a time.

    \b
    Examples:
      monitor show aliyun-cloud-shield-face-api
      monitor show aliyun-cloud-shield-face-api --at 2020-12-10T00:00:00Z --format json
    """
    from ..documents.document import Document
    from ..model import utc_now
    from ..report.json import contract_time

    with obj.store(read_only=True) as store:
        row = store.capture_at(name, at or utc_now())
        if row is None:
            captures = [c for c in store.captures(name) if c["text_sha256"]]
            first = f"; its first capture with text is from {captures[0]['fetched_at']}"
            raise NotFoundError(
                f"watch {name!r} has no capture with text at or before that time"
                + (first if captures else " (it has none yet: run 'monitor check')")
            )
        source = store.bytes_capture(row) or row
        document = Document.from_json(store.get_blob(row["text_sha256"]))
    if output_format == "json":
        echo_json(
            {
                "watch": name,
                "capture": row["id"],
                "fetched_at": contract_time(row["fetched_at"]),
                "source": row.get("source") or "live",
                "archived_at": row.get("archived_at") and contract_time(row["archived_at"]),
                "archive_url": row.get("archive_url"),
                "outcome": row["outcome"],
                "bytes_capture": source["id"],
                "body_sha256": source["body_sha256"],
                "title": document.title,
                "text": document.text,
                "blocks": [
                    {"kind": b.kind, "text": b.text, "path": list(b.path)} for b in document.blocks
                ],
            }
        )
        return
    origin = (
        f"body sha256 {source['body_sha256']}"
        if source["id"] == row["id"]
        else f"{row['outcome']}: the bytes of capture {source['id']}, "
        f"body sha256 {source['body_sha256']}"
    )
    if row.get("source"):
        say(
            f"# {name} as archived {row['archived_at']} by {row['source']} (capture "
            f"{row['id']}, {row['archive_url']}, {origin})"
        )
    else:
        say(f"# {name} as captured {row['fetched_at']} (capture {row['id']}, {origin})")
    say(document.text)
