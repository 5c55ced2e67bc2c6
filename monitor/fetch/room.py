"""Room for responses: how many pages a run holds before they are processed.

Fetching an 86 KB page takes about 1 ms of CPU; extracting its text takes 5-10. On a
first capture the fetches run far ahead of the processing threads, and every page
fetched waits in memory: about 1,550 bodies at once on a first capture of 2,000 pages
(217 MB at its peak, 91 MB with the room), which would be gigabytes for a large site.
A run's checks therefore share a fixed number of places (:class:`Room`): a check takes
one when its request is about to be sent and gives it back when its page has been
recorded. A page is only fetched when there is room for it.

The place is taken after the check's turn at its host (its per-host slot and spacing),
never before: a check waiting for room then holds no place while it waits for a slow
host, so one polite host cannot hold up the others. It is given back while a failed
attempt waits to be retried, so a retry waiting for its host's turn never holds a place
another check needs to finish that turn.

>>> import asyncio
>>> async def demo():
...     room = Room(1)
...     with room.claim():
...         await take()
...         return room.free()
>>> asyncio.run(demo())
0
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from contextlib import contextmanager


class _Claim:
    """One check's place in the room: taken at most once at a time."""

    def __init__(self, room: Room) -> None:
        self._room = room
        self.held = False

    async def take(self) -> None:
        if not self.held:
            await self._room._places.acquire()
            self.held = True
            self._room.taken += 1

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self._room.taken -= 1
            self._room._places.release()


_CLAIM: contextvars.ContextVar[_Claim | None] = contextvars.ContextVar(
    "monitor_fetch_room", default=None
)


class Room:
    """A fixed number of places for responses not yet processed."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a room needs at least one place, not {size}")
        self.size = size
        self.taken = 0  # places held now
        self._places = asyncio.Semaphore(size)

    def free(self) -> int:
        """Places free now (for tests and logs)."""
        return self.size - self.taken

    @contextmanager
    def claim(self) -> Iterator[None]:
        """One check: fetches made inside this block take a place when they send their
        request (:func:`take`); the place is given back when the block ends."""
        claim = _Claim(self)
        token = _CLAIM.set(claim)
        try:
            yield
        finally:
            _CLAIM.reset(token)
            claim.give_back()


async def take() -> None:
    """Wait for a place for this check's response (nothing outside a :meth:`Room.claim`)."""
    claim = _CLAIM.get()
    if claim is not None:
        await claim.take()


def give_back() -> None:
    """This check's response is dropped (a failed attempt about to be retried)."""
    claim = _CLAIM.get()
    if claim is not None:
        claim.give_back()
