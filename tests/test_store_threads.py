"""Recording from several threads at once (the check's processing threads) never reuses
an id: the chain cursor is handed over under the store's lock."""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from monitor.model import Outcome
from monitor.store import CaptureRecord, Store


def test_concurrent_recordings_take_distinct_ids(tmp_path: Path) -> None:
    # Switch threads as often as possible, so that a window between a commit and the
    # cursor's hand-over is hit if there is one.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        _record_from_threads(tmp_path)
    finally:
        sys.setswitchinterval(previous)


def _record_from_threads(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    store.ensure_watches([(f"w{i}", f"https://x/{i}", {"name": f"w{i}"}) for i in range(4)])
    errors: list[BaseException] = []

    def record(watch: str) -> None:
        try:
            for _ in range(500):
                with store.recording() as writer:
                    writer.add_capture(
                        CaptureRecord(watch, "https://x", datetime.now(UTC), Outcome.TRANSIENT)
                    )
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=record, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store._query("SELECT COUNT(*) AS n FROM captures")[0]["n"] == 2000
    store.close()
