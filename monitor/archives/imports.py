"""``monitor import wayback NAME``: a page's archived history, brought into the store.

The CDX server lists the watch URL's captures (exact match, ``collapse=digest`` so a
payload is fetched once per run of identical copies, every status so that redirects and
errors are recorded as such); each is fetched in raw ``id_`` form, politely paced, and
recorded as a capture of the watch with its provenance: source ``wayback``, the
archive's timestamp (when the page looked like this), the archive URL, the archive's
digest, and our own fetch time and SHA-256. Each capture is committed on its own, so an
interrupted import keeps what it fetched and a re-run adds only what is new.

Afterwards the watch's timeline (our captures and the archive's, in page time) is
brought up to date: every change of text with an archived copy on either side becomes
an event dated by the archive's time and marked as derived from archived copies
(``timeline.py``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import TypeVar

from ..analysis.compare import compare
from ..analysis.events import EventDraft
from ..analysis.flag import flag_terms
from ..documents.document import Document
from ..model import EventKind, Outcome, parse_time
from ..store.base import CaptureRecord, EvidenceStore, Row
from .client import ArchiveBusy, ArchiveError, Replay, WaybackClient
from .reading import Rules, original_headers, read_copy
from .timeline import Existing, Point, plan
from .wayback import ARCHIVE, CdxRow, memento_url, parse_replay_location

log = logging.getLogger(__name__)

CDX_PAGE = 500  # index lines per CDX query; more come with the resume key
MAX_BUSY_WAITS = 6  # 429s in a row before giving up (what was imported stays)
MAX_BUSY_WAIT = 300.0  # never sleep longer than this on one Retry-After
GOOD = frozenset((Outcome.OK, Outcome.UNCHANGED, Outcome.NOT_MODIFIED))

T = TypeVar("T")


@dataclass
class ImportReport:
    """What one import run did (printed by the command, returned to tests)."""

    listed: int = 0  # distinct captures the index listed in the range
    imported: list[int] = field(default_factory=list)  # new capture ids
    already: int = 0  # listed captures already in the store
    redirects: int = 0  # archived redirects recorded
    errors: int = 0  # archived error responses recorded
    digest_mismatches: list[str] = field(default_factory=list)  # archive URLs
    skipped: list[str] = field(default_factory=list)  # the archive could not serve these
    events: list[int] = field(default_factory=list)  # derived change events created
    superseded: list[int] = field(default_factory=list)
    complete: bool = True  # False: stopped early (limit, busy); a re-run continues

    def summary(self) -> str:
        parts = [
            f"listed {self.listed}",
            f"imported {len(self.imported)}",
            f"already had {self.already}",
        ]
        if self.redirects:
            parts.append(f"redirects {self.redirects}")
        if self.errors:
            parts.append(f"archived errors {self.errors}")
        if self.skipped:
            parts.append(f"not served by the archive {len(self.skipped)} (re-run to retry)")
        parts.append(f"new change events {len(self.events)}")
        return ", ".join(parts)


def sha1_base32(body: bytes) -> str:
    """The archive's digest of a payload: base-32 SHA-1.

    >>> sha1_base32(b"")
    '3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ'
    """
    return base64.b32encode(hashlib.sha1(body).digest()).decode()


class Importer:
    """Imports one watch's archived history into a store."""

    def __init__(
        self,
        store: EvidenceStore,
        client: WaybackClient,
        echo: Callable[[str], None] = lambda _line: None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.client = client
        self.echo = echo
        self.sleep = sleep

    async def run(
        self,
        watch: str,
        *,
        from_: datetime | None = None,
        to: datetime | None = None,
        limit: int | None = None,
    ) -> ImportReport:
        """Import up to ``limit`` new captures of ``watch`` between ``from_`` and ``to``."""
        self.store.require_watch(watch)
        config = self.store.watch_config(watch)
        url = str(config["url"])
        rules = Rules.from_config(config)
        # Known by (timestamp, original URL): the same capture through a mirror is known too.
        known = {
            (target.timestamp, target.url)
            for address in self.store.archive_urls(watch)
            if (target := parse_replay_location(address)) is not None
        }
        report = ImportReport()
        try:
            await self._list_and_fetch(watch, url, rules, known, report, from_, to, limit)
        except ArchiveError:
            report.complete = False
            self.update_timeline(watch, report)  # what was imported counts already
            raise
        if report.skipped:
            report.complete = False
        self.update_timeline(watch, report)
        return report

    async def _list_and_fetch(
        self,
        watch: str,
        url: str,
        rules: Rules,
        known: set[tuple[str, str]],
        report: ImportReport,
        from_: datetime | None,
        to: datetime | None,
        limit: int | None,
    ) -> None:
        resume: str | None = None
        while True:
            listing = partial(
                self.client.cdx, url, from_=from_, to=to, limit=CDX_PAGE, resume_key=resume
            )
            page = await self._patiently(listing, "listing captures")
            for row in page.rows:
                report.listed += 1
                if (row.timestamp, row.original) in known:
                    report.already += 1
                    continue
                if limit is not None and len(report.imported) >= limit:
                    report.complete = False
                    continue  # keep counting what is listed
                address = memento_url(self.client.base, row.timestamp, row.original)
                capture_id = await self._import_one(watch, url, row, address, rules, report)
                if capture_id is not None:
                    known.add((row.timestamp, row.original))
                    report.imported.append(capture_id)
            resume = page.resume_key
            if not resume:
                return

    async def _patiently(self, call: Callable[[], Awaitable[T]], what: str) -> T:
        """Run a request, waiting as the archive asks when it answers 429."""
        for _ in range(MAX_BUSY_WAITS):
            try:
                return await call()
            except ArchiveBusy as busy:
                wait = min(busy.retry_after, MAX_BUSY_WAIT)
                self.echo(f"the archive asked us to slow down ({what}); waiting {wait:g} s")
                await self.sleep(wait)
        return await call()  # the last try: a 429 now stops the import (progress is kept)

    async def _import_one(
        self,
        watch: str,
        url: str,
        row: CdxRow,
        address: str,
        rules: Rules,
        report: ImportReport,
    ) -> int | None:
        try:
            fetching = partial(self.client.replay, row.timestamp, row.original)
            replay = await self._patiently(fetching, "fetching a copy")
        except ArchiveBusy:
            raise  # still refused after waiting as asked: stop, do not hammer the next one
        except ArchiveError as error:
            log.warning("skipping %s: %s", address, error)
            report.skipped.append(address)
            return None
        record = self._record(watch, url, row, address, replay, rules, report)
        if record is None:
            report.skipped.append(address)
            return None
        with self.store.recording() as writer:
            capture_id = writer.add_capture(record)
        self.echo(
            f"  {row.archived_at:%Y-%m-%d %H:%M:%S}  {record.status or '-':>3}  "
            f"{record.outcome:<16} {(record.body_sha256 or '-')[:16]}  {address}"
        )
        return capture_id

    def _record(
        self,
        watch: str,
        url: str,
        row: CdxRow,
        address: str,
        replay: Replay,
        rules: Rules,
        report: ImportReport,
    ) -> CaptureRecord | None:
        """The capture row for one archived response; None if the archive failed us."""
        base = CaptureRecord(
            watch=watch,
            url=url,
            fetched_at=replay.fetched_at,
            outcome=Outcome.ERROR,
            status=replay.status,
            final_url=row.original,
            headers=replay.headers,
            elapsed_ms=round(replay.elapsed * 1000),
            source=ARCHIVE,
            archived_at=row.archived_at,
            archive_url=address,
            archive_digest=row.digest,
        )
        if not replay.is_memento:
            # The archive speaking for itself: no playable copy at that second (it
            # offers another), or an error of its own. Nothing to record; a re-run retries.
            offered = parse_replay_location(replay.location or "")
            why = (
                f"offered the copy of {offered.timestamp} instead"
                if offered
                else f"HTTP {replay.status} {replay.runtime_error or ''}".rstrip()
            )
            log.warning("the archive did not serve %s: %s", address, why)
            return None
        if 300 <= replay.status < 400:
            report.redirects += 1
            target = parse_replay_location(replay.location or "")
            where = target.url if target else (replay.location or "?")
            return replace(
                base,
                final_url=where,
                error=f"archived redirect: HTTP {replay.status} to {where}",
            )
        body_sha = self.store.put_blob(replay.body)
        if row.digest and row.statuscode is not None and sha1_base32(replay.body) != row.digest:
            # The index's digest covers the payload as stored (possibly still
            # content-encoded); a difference is noted, not fatal.
            report.digest_mismatches.append(address)
        reading = read_copy(
            url,
            replay.status,
            original_headers(replay.headers),
            replay.body,
            replay.fetched_at,
            rules,
        )
        text_sha = None
        if reading.document is not None:
            text_sha = self.store.put_blob(reading.document.to_json().encode("utf-8"))
        if reading.outcome not in GOOD:
            report.errors += 1
        return replace(
            base,
            outcome=reading.outcome,
            body_sha256=body_sha,
            body_size=len(replay.body),
            text_sha256=text_sha,  # also for selector_missing, as a live check keeps it
            encoding=reading.encoding,
            error=reading.reason or None,
        )

    # -- the timeline ----------------------------------------------------------------

    def update_timeline(self, watch: str, report: ImportReport | None = None) -> None:
        """Derive the change events the archived copies reveal (see timeline.py)."""
        report = report or ImportReport()
        rows = self.store.captures(watch)
        points = [_point(r) for r in rows if _good(r)]
        existing = [
            Existing(
                change_id=int(c["id"]),
                from_capture=c["from_capture"],
                to_capture=int(c["to_capture"]),
                derived=c["derived_from"] == ARCHIVE,
            )
            for c in self.store.changes(watch=watch)
            if c["kind"] == EventKind.CHANGED
        ]
        todo = plan(points, existing)
        if not todo.create and not todo.supersede:
            self._adopt_reference(watch, rows)
            return
        terms = tuple(self.store.watch_config(watch).get("terms") or ())
        drafts = []
        for edge in todo.create:
            before = self._document(edge.before.text_sha)
            after = self._document(edge.after.text_sha)
            comparison = compare(before, after)
            if not comparison.changed:
                continue  # texts whose difference normalises away are not a change
            drafts.append(
                (
                    edge.after.at,
                    EventDraft(
                        EventKind.CHANGED,
                        edge.before.capture,
                        edge.after.capture,
                        removed=tuple(f.text for f in comparison.removed),
                        added=tuple(f.text for f in comparison.added),
                        flags=tuple(flag_terms(before.text, after.text, terms)),
                        detail={**comparison.to_detail(), "derived_from": ARCHIVE},
                    ),
                )
            )
        with self.store.recording() as writer:
            for change_id in todo.supersede:
                writer.supersede_change(change_id)
            for at, draft in drafts:
                report.events.append(writer.add_derived_change(watch, draft, at, ARCHIVE))
        report.superseded.extend(todo.supersede)
        self._adopt_reference(watch, rows)

    def _document(self, text_sha: str) -> Document:
        return Document.from_json(self.store.get_blob(text_sha))

    def _adopt_reference(self, watch: str, rows: list[Row]) -> None:
        """A watch never checked well yet compares its first check with the archive's
        latest copy, so the change between the two is not lost."""
        archived = [r for r in rows if _good(r) and r["source"] == ARCHIVE]
        if not archived:
            return
        latest = max(archived, key=lambda r: (_page_time(r), r["id"]))
        with self.store.recording() as writer:
            state = writer.state(watch)
            if state.reference is not None:
                return
            writer.set_state(
                watch,
                replace(
                    state,
                    reference=int(latest["id"]),
                    reference_body=latest["body_sha256"],
                    reference_text=latest["text_sha256"],
                    reference_url=None,  # the archive's URL form must not look like a move
                ),
            )


def _good(row: Row) -> bool:
    return row["outcome"] in GOOD and row["text_sha256"] is not None


def _page_time(row: Row) -> datetime:
    return parse_time(row["archived_at"] or row["fetched_at"])


def _point(row: Row) -> Point:
    return Point(
        capture=int(row["id"]),
        at=_page_time(row),
        text_sha=str(row["text_sha256"]),
        archived=row["source"] == ARCHIVE,
    )


__all__ = ["ImportReport", "Importer", "sha1_base32"]
