"""The evidence store's interface: what checks, reports and commands need from a store.

:class:`~monitor.store.sqlite.SQLiteStore` (SQLite + blob directory) is the embedded
default; other back ends implement the same protocol, and nothing above this
interface changes. The rules every implementation keeps:

- captures and changes are append-only (the database refuses updates and deletes);
- a blob is named by the SHA-256 of its bytes, written once, never replaced;
- a check (its capture row, its events and the watch's new state) is written in one
  transaction, opened with :meth:`EvidenceStore.recording`, after its blobs exist. The
  store persists; the pure state machine (``analysis/events.py``) decides.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..analysis.events import EventDraft, WatchState
from ..config import defaults
from ..evidence.chain import Entry, Head
from ..model import Capture, Outcome

if TYPE_CHECKING:
    from .sites import SiteRecords

DEFAULT_DATA_DIR = defaults.DATA_DIR

Row = Mapping[str, Any]  # a capture or change record as read back

# Triage marks a person can put on a change event (the dashboard); append-only.
TRIAGE_MARKS = ("reviewed", "important", "noise")
UNTRIAGED = "untriaged"  # the filter value for changes with no mark yet


@dataclass(frozen=True)
class ChangeFilter:
    """Which change events to list (every field optional; all given must hold)."""

    watch: str | None = None
    vendor: str | None = None
    tag: str | None = None
    kinds: tuple[str, ...] = ()
    flagged: bool = False
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    triage: str | None = None  # a mark (the latest one), or UNTRIAGED


@dataclass(frozen=True)
class CaptureRecord:
    """A capture row as a check writes it."""

    watch: str
    url: str
    fetched_at: datetime
    outcome: Outcome
    status: int | None = None
    final_url: str | None = None
    headers: Sequence[tuple[str, str]] = ()
    redirects: Sequence[tuple[int, str]] = ()
    body_sha256: str | None = None
    body_size: int | None = None
    text_sha256: str | None = None
    encoding: str | None = None
    elapsed_ms: int | None = None
    attempts: int = 1
    error_class: str | None = None
    error: str | None = None
    fetched_with: str | None = None  # http or browser
    source_capture: int | None = None  # the raw response row behind a rendered capture
    screenshot_sha256: str | None = None

    @classmethod
    def of(
        cls, watch: str, capture: Capture, outcome: Outcome, body_sha: str | None, **fields: Any
    ) -> CaptureRecord:
        """The row for a capture (``body_sha`` None when its body is not stored)."""
        record = cls(
            watch=watch,
            url=capture.url,
            fetched_at=capture.fetched_at,
            outcome=outcome,
            status=capture.status,
            final_url=capture.final_url,
            headers=capture.headers,
            redirects=capture.redirects,
            body_sha256=body_sha,
            body_size=len(capture.body) if body_sha else None,
            elapsed_ms=round(capture.elapsed * 1000),
            attempts=capture.attempts,
            error_class=capture.error_class,
            error=capture.error,
            fetched_with=capture.fetched_with,
        )
        return replace(record, **fields) if fields else record

    # Provenance of a capture imported from a public archive (None for our own):
    source: str | None = None  # the archive's name, e.g. "wayback"
    archived_at: datetime | None = None  # when the page looked like this (archive's time)
    archive_url: str | None = None  # the capture's address in the archive
    archive_digest: str | None = None  # the archive's own digest of the payload
    # Not a column: the reference capture this capture's text was compared against. The
    # store refuses a `changed` event when the watch's reference is no longer that one
    # (compare-and-set in the recording transaction); None when nothing was compared.
    compared_with: int | None = None


class BlobBackend(Protocol):
    """Where a store keeps its bytes: a directory (blobs.py) or a bucket (s3.py).

    Content-addressed by SHA-256, written once, never replaced.
    """

    def put(self, data: bytes, digest: str | None = None) -> str: ...
    def get(self, digest: str) -> bytes: ...
    def verify(self, digest: str) -> bool: ...
    def exists(self, digest: str) -> bool: ...
    def location(self, digest: str) -> str: ...


class CheckWriter(Protocol):
    """One open recording transaction (see :meth:`EvidenceStore.recording`)."""

    def add_capture(self, capture: CaptureRecord) -> int: ...
    def state(self, watch: str) -> WatchState: ...
    def latest_fetched_at(self, watch: str) -> datetime | None: ...  # of our own captures
    def add_change(self, capture: CaptureRecord, draft: EventDraft) -> int: ...
    def set_state(self, watch: str, state: WatchState) -> None: ...
    def add_witness(self, change_id: int, archive: str, url: str) -> int: ...
    def add_derived_change(
        self, watch: str, draft: EventDraft, at: datetime, derived_from: str
    ) -> int: ...
    def supersede_change(self, change_id: int) -> None: ...


class EvidenceStore(Protocol):
    """What the check, the reports and the command line need from a store."""

    location: str  # where the evidence lives, for messages

    def close(self) -> None: ...
    def __enter__(self) -> EvidenceStore: ...
    def __exit__(self, *_: object) -> None: ...
    def ensure_watches(self, watches: Sequence[tuple[str, str, dict[str, Any]]]) -> None: ...
    def watch_config(self, name: str) -> dict[str, Any]: ...
    def require_watch(self, watch: str) -> None: ...
    def state(self, name: str) -> WatchState: ...
    def last_checks(self) -> dict[str, datetime]: ...
    def put_blob(self, data: bytes, digest: str | None = None) -> str: ...
    def get_blob(self, digest: str) -> bytes: ...
    def blob_location(self, digest: str) -> str: ...
    def recording(self) -> AbstractContextManager[CheckWriter]: ...
    def capture(self, capture_id: int) -> Row: ...
    def captures(self, watch: str) -> list[Row]: ...
    def capture_at(self, watch: str, moment: datetime) -> Row | None: ...
    def bytes_capture(self, capture: Row) -> Row | None: ...
    def change(self, change_id: int) -> Row: ...
    def changes(
        self, since: datetime | None = None, watch: str | None = None, flagged: bool = False
    ) -> list[Row]: ...
    def verify(self) -> list[str]: ...

    # The evidence chain (docs/evidence.md): rows carry ``chain_seq`` and ``chain_hash``,
    # computed with monitor/evidence/chain.py inside the recording transaction.
    def chain_head(self) -> Head: ...
    def chain_entries(self, from_seq: int = 1) -> Iterator[Entry]: ...
    def iter_captures(
        self, watches: tuple[str, ...] = (), since: str | None = None, until: str | None = None
    ) -> Iterator[dict[str, Any]]: ...
    def add_checkpoint(self, fields: dict[str, Any]) -> int: ...
    def checkpoints(self) -> list[dict[str, Any]]: ...
    def sites(self) -> SiteRecords: ...
    # Public archives (monitor/archives): imported captures and the witness queue.
    def archive_urls(self, watch: str) -> set[str]: ...
    def witnesses(
        self, change_ids: Sequence[int] | int | None = None, status: str | None = None
    ) -> list[Row]: ...
    def due_witnesses(self, now: datetime) -> list[Row]: ...
    def update_witness(self, witness_id: int, fields: Mapping[str, Any]) -> None: ...


class BrowsableStore(EvidenceStore, Protocol):
    """A store the dashboard can browse: overviews, filtered pages, triage marks."""

    def watches_overview(self) -> list[Row]: ...
    def change_page(
        self, selected: ChangeFilter, limit: int = 50, offset: int = 0
    ) -> tuple[list[Row], int]: ...
    def change_index(self, watch: str) -> list[Row]: ...
    def facets(self) -> dict[str, list[str]]: ...
    def add_triage(self, change_id: int, mark: str, note: str, author: str) -> int: ...
