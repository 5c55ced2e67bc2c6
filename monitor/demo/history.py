"""The demo's public-archive step: a witness for the flagged edit.

Both run against the local stand-in Wayback Machine (wayback.py) on 127.0.0.1, with the
real importer and the real witness worker; the keys are the stand-in's own, never taken
from the environment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..archives.client import Pacing, WaybackClient
from ..archives.spn import Credentials
from ..archives.witness import Timing, WitnessWorker
from ..store import EvidenceStore, Row
from .wayback import WaybackStub

NO_WAIT = Pacing(0, 0, 0, 0, 0)


def witness_changes(
    store: EvidenceStore, archive: WaybackStub, echo: Callable[[str], None]
) -> None:
    """Work the witness queue until the archive's copy of each change is checked."""
    keys = Credentials(archive.access, archive.secret)
    timing = Timing(poll=0, first_verify=0, verify_retry=0, busy=0, backoff=0)

    async def run() -> None:
        async with WaybackClient(archive.base, keys, NO_WAIT) as client:
            worker = WitnessWorker(store, client, timing)
            for _ in range(8):
                await worker.work_once()
                if not [w for w in store.witnesses() if _unfinished(w)]:
                    break

    asyncio.run(run())
    for witness in store.witnesses():
        echo(
            f"   change #{witness['change_id']}: {witness['archive']} {witness['status']} "
            f"{witness['archived_url'] or witness['reason'] or ''}"
        )


def _unfinished(witness: Row) -> bool:
    return witness["status"] == "pending" or (
        witness["status"] == "archived" and witness["copy"] is None
    )
