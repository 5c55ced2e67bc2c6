"""One change with everything a report about it shows, read from a store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..store.base import EvidenceStore, Row
from .json import change_to_json


@dataclass(frozen=True)
class ChangeView:
    """Everything a report about one change shows."""

    event: dict[str, Any]
    detail: dict[str, Any]
    watch: dict[str, Any]
    old: Row | None
    new: Row
    old_blob: str | None  # link to the raw snapshot
    new_blob: str | None

    @property
    def terms(self) -> list[str]:
        return list(self.watch.get("terms") or [])


def load_change(store: EvidenceStore, change_id: int) -> ChangeView:
    row = store.change(change_id)
    old = store.capture(row["from_capture"]) if row["from_capture"] else None
    new = store.capture(row["to_capture"])
    event = change_to_json(row)
    if row.get("superseded_at"):
        event["superseded_at"] = row["superseded_at"]  # listed no more, still shown here
    return ChangeView(
        event=event,
        detail=json.loads(row["detail"]),
        watch=store.watch_config(row["watch"]),
        old=old,
        new=new,
        old_blob=_blob_link(store, old),
        new_blob=_blob_link(store, new),
    )


def _blob_link(store: EvidenceStore, capture: Row | None) -> str | None:
    if capture is None or not capture["body_sha256"]:
        return None
    return store.blob_location(capture["body_sha256"])
