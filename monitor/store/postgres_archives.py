"""Public-archive records (witnesses, imported copies) on the PostgreSQL store: not yet.

The archives room (Save Page Now witnesses, Wayback imports) keeps its records in the
SQLite store's tables; the PostgreSQL schema has no place for them yet. Reading says
honestly that there are none; anything that would write or work the queue refuses with
a clear error instead of losing a witness request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..errors import ConfigError
from .base import Row

UNSUPPORTED = (
    "public-archive witnesses and Wayback imports are not available on the PostgreSQL "
    "store yet; use a data directory (--data-dir) for settings.witness and "
    "'monitor import wayback'"
)


class NoArchiveRecords:
    """The archive methods of the store protocol, for a store that keeps none."""

    def archive_urls(self, watch: str) -> set[str]:
        return set()  # nothing was ever imported into this store

    def witnesses(
        self, change_ids: Sequence[int] | int | None = None, status: str | None = None
    ) -> list[Row]:
        return []  # no witness can have been recorded here

    def due_witnesses(self, now: datetime) -> list[Row]:
        raise ConfigError(UNSUPPORTED)

    def update_witness(self, witness_id: int, fields: Mapping[str, Any]) -> None:
        raise ConfigError(UNSUPPORTED)
