"""Per-host politeness shared by every worker on every machine, held by PostgreSQL.

Two rules, the same as one process keeps for itself (fetch/http.py), but for the whole
fleet of ``monitor worker`` processes:

- at most ``per_host`` requests to one host at a time: a request holds one of the
  host's ``per_host`` slots, a session-level advisory lock ``(host key, slot)``. A
  worker that dies (SIGKILL, a lost machine) loses its database session, and with it
  its slots, at once: nothing to expire, nothing to clean up;
- at least ``host_delay`` seconds between the starts of two requests to one host: a
  row per host in ``host_pacing`` holds the earliest next start by the database's
  clock (the workers' clocks do not matter). A worker locks the row, waits for that
  time, sets the next one from the moment it goes, and commits: the others queue on
  the row lock meanwhile.

>>> host_key("docs.example.com") == host_key("docs.example.com"), -2**31 <= host_key("x") < 2**31
(True, True)
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

POLL_SECONDS = 0.05  # between tries when all of a host's slots are taken (with jitter)

_PACING_ROW = "INSERT INTO host_pacing (host, next_start) VALUES (%s, to_timestamp(0)) " \
    "ON CONFLICT (host) DO NOTHING"
_WAIT_FOR_TURN = (
    "SELECT extract(epoch FROM next_start - clock_timestamp())::float8 AS wait "
    "FROM host_pacing WHERE host = %s FOR UPDATE"
)
_TAKE_TURN = (
    "UPDATE host_pacing SET next_start = clock_timestamp() + make_interval(secs => %s) "
    "WHERE host = %s"
)


def host_key(host: str) -> int:
    """A stable signed 32-bit number for a host (the advisory lock's first key)."""
    digest = hashlib.blake2b(host.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresHostGate:
    """A fleet-wide per-host gate for :class:`~monitor.fetch.http.HttpFetcher`.

    Use as ``async with PostgresHostGate(url, per_host, host_delay, size) as gate``;
    ``size`` bounds the requests this process can have in flight (a connection each).
    """

    def __init__(self, url: str, per_host: int, host_delay: float, size: int) -> None:
        self.per_host = max(1, per_host)
        self.host_delay = max(0.0, host_delay)
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max(1, size),
            # Pacing rows are bookkeeping: a commit need not wait for a disk flush.
            kwargs={"autocommit": True, "options": "-c synchronous_commit=off"},
            open=False,
            name="monitor-host-gate",
        )

    async def __aenter__(self) -> PostgresHostGate:
        await self._pool.open(wait=True, timeout=30)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of ``host``'s slots, starting no sooner than its spacing allows."""
        key = host_key(host)
        async with self._pool.connection() as conn:
            try:
                await self._take_slot(conn, key)
                if self.host_delay > 0:
                    await self._wait_for_turn(conn, host)
                yield
            finally:
                # This connection serves this slot only: releasing all its locks also
                # covers a cancellation between taking a lock and returning from it.
                await conn.execute("SELECT pg_advisory_unlock_all()")

    async def _wait_for_turn(self, conn: psycopg.AsyncConnection[Any], host: str) -> None:
        # The host's row stays locked while we wait, and the next turn is set from the
        # moment we actually go: spacing between real starts, as one process keeps it.
        async with conn.transaction():
            await conn.execute(_PACING_ROW, (host,))
            cursor = await conn.execute(_WAIT_FOR_TURN, (host,))
            row = await cursor.fetchone()
            wait = float(row[0]) if row else 0.0
            if wait > 0:
                await asyncio.sleep(wait)
            await conn.execute(_TAKE_TURN, (self.host_delay, host))

    async def _take_slot(self, conn: psycopg.AsyncConnection[Any], key: int) -> int:
        while True:
            first = random.randrange(self.per_host)  # waiting workers do not all try slot 0
            for offset in range(self.per_host):
                slot = (first + offset) % self.per_host
                cursor = await conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (key, slot))
                row = await cursor.fetchone()
                if row and row[0]:
                    return slot
            await asyncio.sleep(POLL_SECONDS * (0.5 + random.random()))
