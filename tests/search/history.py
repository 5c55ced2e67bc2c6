"""Building watch histories in a real store for the search tests (no network)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.analysis.events import EventDraft, WatchState
from monitor.documents.document import Block, Document
from monitor.model import EventKind, Outcome
from monitor.store import CaptureRecord, EvidenceStore, Store, StoreSpec, open_store

START = datetime(2020, 12, 1, tzinfo=UTC)


class History:
    """Record text versions of watches, one capture each (and a change when the text
    changed), with times one hour apart in recording order unless told otherwise."""

    def __init__(self, root: Path, store: EvidenceStore | None = None) -> None:
        """A data directory at ``root``, or ``store`` (PostgreSQL) when given."""
        self.store: Any = store if store is not None else Store(root)
        self.clock = 0
        self.last_text: dict[str, str] = {}
        self.last_capture: dict[str, int] = {}

    def close(self) -> None:
        self.store.close()

    def capture(
        self,
        watch: str,
        blocks: list[str] | None,
        outcome: Outcome = Outcome.OK,
        at: datetime | None = None,
    ) -> int:
        """One capture; ``blocks`` None records a failed fetch (no text)."""
        self.store.ensure_watches([(watch, f"https://example.test/{watch}", {"name": watch})])
        self.clock += 1
        when = at or START + timedelta(hours=self.clock)
        text_sha = None
        if blocks is not None:
            document = Document(blocks=tuple(Block("text", b) for b in blocks))
            text_sha = self.store.put_blob(document.to_json().encode())
        body = self.store.put_blob(f"{watch} {self.clock}".encode())
        record = CaptureRecord(
            watch,
            f"https://example.test/{watch}",
            when,
            outcome,
            status=200 if blocks is not None else None,
            body_sha256=body if blocks is not None else None,
            text_sha256=text_sha,
        )
        with self.store.recording() as writer:
            capture_id = writer.add_capture(record)
            changed = (
                outcome == Outcome.OK
                and text_sha is not None
                and watch in self.last_text
                and self.last_text[watch] != text_sha
            )
            if changed:
                draft = EventDraft(EventKind.CHANGED, self.last_capture[watch], capture_id)
                writer.add_change(record, draft)
            if outcome == Outcome.OK and text_sha is not None:  # the store checks events
                writer.set_state(watch, WatchState(reference=capture_id))  # against it
        if outcome == Outcome.OK and text_sha is not None:
            self.last_text[watch] = text_sha
            self.last_capture[watch] = capture_id
        return capture_id


@pytest.fixture(name="history", params=["sqlite", "postgres"])
def history_on_each_back_end(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[History]:
    """A data directory, then PostgreSQL with a blob directory: the same results.

    Test modules import it (``from history import history_on_each_back_end``).
    """
    store = None
    if request.param == "postgres":
        spec = StoreSpec(request.getfixturevalue("pg_url"), str(tmp_path / "blobs"))
        store = open_store(spec)
    h = History(tmp_path / "data", store)
    yield h
    h.close()
