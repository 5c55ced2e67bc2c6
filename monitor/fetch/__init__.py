"""Fetching: a URL in, a :class:`~monitor.model.Capture` out (never an exception).

``http.py`` is the HTTP fetcher; other fetchers (a headless browser) implement the same
protocol and are chosen per watch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from ..model import Capture


class Fetcher(Protocol):
    """What a check needs from a fetcher."""

    async def fetch(
        self,
        url: str,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Capture: ...


class HostGate(Protocol):
    """Per-host politeness held outside this process (for example by every worker of a
    fleet, see run/hosts.py): ``async with gate.slot(host)`` waits for one of the host's
    request slots and for its spacing, and holds the slot for one request.
    """

    def slot(self, host: str) -> AbstractAsyncContextManager[None]: ...
