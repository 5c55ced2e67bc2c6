"""The fleet-wide per-host gate (run/hosts.py) on a real PostgreSQL: two gates stand for
two workers; neither limit is ever exceeded, and a dead worker's slots come free."""

from __future__ import annotations

import asyncio
import time

import psycopg

from monitor.run.hosts import PostgresHostGate, host_key
from monitor.store import open_store


def _schema(pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    open_store(pg_url, str(tmp_path / "blobs")).close()  # migrations create host_pacing


def test_two_gates_share_concurrency_and_spacing(pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _schema(pg_url, tmp_path)
    in_flight, most, starts = 0, 0, []

    async def request(gate: PostgresHostGate, host: str) -> None:
        nonlocal in_flight, most
        async with gate.slot(host):
            starts.append((host, time.monotonic()))
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.03)
            in_flight -= 1

    async def main() -> None:
        async with PostgresHostGate(pg_url, 2, 0.04, 8) as a, PostgresHostGate(
            pg_url, 2, 0.04, 8
        ) as b:
            await asyncio.gather(*(request(a if i % 2 else b, "docs.example") for i in range(24)))

    asyncio.run(main())
    assert most <= 2
    times = sorted(t for _, t in starts)
    # Turns are 40 ms apart by the database's clock; what a task sees adds its own
    # scheduling delay (up to tens of ms on a busy machine), never a burst: any five
    # consecutive starts span at least four turns, less one such delay.
    spans = [times[i + 4] - times[i] for i in range(len(times) - 4)]
    assert min(spans) >= 4 * 0.04 - 0.02, spans
    assert (times[-1] - times[0]) / (len(times) - 1) >= 0.04


def test_a_dead_session_frees_its_slots(pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _schema(pg_url, tmp_path)
    key = host_key("docs.example")
    dead = psycopg.connect(pg_url, autocommit=True)
    for slot in range(2):  # a worker holding both slots ...
        dead.execute("SELECT pg_advisory_lock(%s, %s)", (key, slot))

    async def one() -> float:
        started = time.monotonic()
        async with PostgresHostGate(pg_url, 2, 0.0, 2) as gate, gate.slot("docs.example"):
            return time.monotonic() - started

    async def main() -> float:
        waiting = asyncio.create_task(one())
        await asyncio.sleep(0.5)
        assert not waiting.done()  # ... blocks every other worker
        dead.close()  # ... until its session ends (a killed process)
        return await asyncio.wait_for(waiting, 10)

    assert asyncio.run(main()) >= 0.5
