"""``monitor search``: where and when wording appeared or vanished, across all versions."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from .common import Context, echo_json, say

if TYPE_CHECKING:
    from ..search import SearchIndex, WatchHit
    from ..store.base import EvidenceStore


@click.command()
@click.argument("text", required=False)
@click.option("--watch", "watch_name", help="Only this watch.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="At most this many watches (most recent activity first).",
)
@click.option(
    "--rebuild",
    is_flag=True,
    help="Remake the index from every capture first (once for a data directory "
    "recorded before search existed; safe while 'monitor run' is running).",
)
@click.pass_obj
def search(
    obj: Context,
    text: str | None,
    watch_name: str | None,
    output_format: str,
    limit: int | None,
    rebuild: bool,
) -> None:
    """Where and when wording appeared or vanished, across all versions.

    Every version of every watch is searched. Matches as watched terms do:
    traditional/simplified Chinese, full/half width and case are folded; Chinese
    matches inside text without spaces; a term starting with a Latin letter or digit
    must start a word. Checks do not index: a search first indexes what they
    recorded since the last one (after a large first capture this takes a while,
    shown on stderr; 'monitor run' and 'monitor serve' keep the index current).

    \b
    Examples:
      monitor search 是否是维族
      monitor search 维族 --watch aliyun-cloud-shield-face-api --format json
      monitor search --rebuild
    """
    from ..search import search

    if text is None and not rebuild:
        raise click.UsageError("give the TEXT to look for (or --rebuild)")
    with obj.store(read_only=not rebuild) as store:
        if watch_name:
            store.require_watch(watch_name)
        with _current_index(store, rebuild) as index:
            if text is None:
                return
            coverage = index.coverage()
            if coverage.unindexed_before:
                say(
                    f"monitor: note: {coverage.unindexed_before} text capture(s) recorded "
                    "before search existed are not indexed yet; run "
                    "'monitor search --rebuild' once to include them",
                    err=True,
                )
            hits = search(index, text, watch=watch_name, limit=limit)
    if output_format == "json":
        echo_json([h.to_dict() for h in hits])
        return
    for line in _text_lines(text, hits):
        say(line)


@contextmanager
def _current_index(store: EvidenceStore, rebuild: bool) -> Iterator[SearchIndex]:
    """The store's index, covering every capture: caught up (or rebuilt) in place, or,
    for a read-only directory whose index is behind, in a private temporary copy."""
    from ..search import open_index

    writable = getattr(store, "writable", True)
    with open_index(store) as index:
        if rebuild:
            _rebuild(index)
        elif writable:
            _catch_up(index)  # what a concurrent 'monitor run' records meanwhile: next time
        coverage = index.coverage()
        if rebuild or writable or coverage.mark >= coverage.latest:
            yield index
            return
    from ..search.private import private_index

    say(
        f"monitor: note: the data directory is read-only and its search index ends at "
        f"capture {coverage.mark} of {coverage.latest}: indexing a private temporary copy "
        "of its database (removed afterwards)",
        err=True,
    )
    with private_index(store) as copy:
        yield copy


def _catch_up(index: SearchIndex) -> None:
    """Index what was recorded since the last search (checks leave that to the readers).

    Past a second it says so on stderr, so that the first search after a large first
    capture does not look like a hang.
    """
    started = time.monotonic()
    versions = index.catch_up(budget_seconds=1.0)
    coverage = index.coverage()
    if coverage.mark >= coverage.latest:
        return
    say(
        "monitor: indexing new captures for search ('monitor run' and 'monitor serve' "
        "keep the index current in the background)...",
        err=True,
    )
    while done := index.catch_up(budget_seconds=1.0):  # a line of progress a second
        versions += done
        if sys.stderr.isatty():
            coverage = index.coverage()
            say(f"\rindexed up to capture {coverage.mark} of {coverage.latest}", nl=False, err=True)
    say(
        f"{chr(13) if sys.stderr.isatty() else ''}monitor: {versions} text version(s) indexed "
        f"in {time.monotonic() - started:.1f} s",
        err=True,
    )


def _rebuild(index: SearchIndex) -> None:
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty() or done == total:
            say(f"\rindexed {done}/{total} watches", nl=done == total, err=True)

    versions = index.rebuild(progress)
    say(
        f"search index rebuilt: {versions} text version(s) in {time.monotonic() - started:.1f} s",
        err=True,
    )


def _text_lines(text: str, hits: list[WatchHit]) -> list[str]:
    if not hits:
        return [f"{text!r} was not found in any version of any watch"]
    present = sum(1 for h in hits if h.present_now)
    lines = [
        f"{text!r}: found in {len(hits)} watch(es), present now in {present}, "
        f"gone from {len(hits) - present}"
    ]
    for hit in hits:
        now = "present now" if hit.present_now else "NOT present now"
        lines += [
            "",
            f"{hit.watch}  {hit.url}",
            f"  first seen {hit.first_seen.at} (capture {hit.first_seen.capture}), "
            f"last seen {hit.last_seen.at} (capture {hit.last_seen.capture}); {now}"
            + (f" (latest check: {hit.latest_outcome})" if hit.latest_outcome else ""),
        ]
        for step in hit.transitions:
            event = f"change #{step.change} ({step.change_kind})" if step.change else ""
            note = "first capture" if step.first_capture else event
            hint = f"   monitor diff {step.change}" if step.change else ""
            lines.append(f"  {step.event:<9} {step.at}  capture {step.capture:<6} {note}{hint}")
        if hit.snippet:
            s = hit.snippet
            lines.append(f"  …{s.before}【{s.match}】{s.after}…  (capture {s.capture})")
    return lines
