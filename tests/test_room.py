"""Room for responses (fetch/room.py): a long list never piles up pages in memory.

A first capture fetches far faster than it extracts; without a bound every page of the
list waited in memory for a processing thread. These tests pin the bound, and that it
can neither deadlock with the per-host limits nor make a retry fail.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from conftest import loopback, pages_watchlist

import monitor.check as check_module
from monitor.config.watchlist import load_watchlist
from monitor.fetch.http import Fetcher, FetchPolicy
from monitor.fetch.room import Room
from monitor.model import Outcome
from monitor.store import open_store


@pytest.fixture
def flaky_server() -> Iterator[tuple[str, dict[str, int]]]:
    """Each path answers 503 the first time it is asked, then 200."""
    asked: dict[str, int] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            with lock:
                asked[self.path] = asked.get(self.path, 0) + 1
                first = asked[self.path] == 1
            body = b"busy" if first else b"<main><p>\xe6\x98\xaf\xe5\x90\xa6</p></main>"
            self.send_response(503 if first else 200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    with loopback(Handler) as base:
        yield base, asked


async def fetch_and_hold(
    base: str, count: int, policy: FetchPolicy, room: Room, hold: float
) -> tuple[list[int | None], int]:
    """Each fetch in its own claim, its page then 'processed' for ``hold`` seconds;
    returns the statuses and the most pages fetched and not yet processed at once."""
    waiting = most = 0

    async def one(fetcher: Fetcher, i: int) -> int | None:
        nonlocal waiting, most
        with room.claim():
            capture = await fetcher.fetch(f"{base}/p{i}")
            waiting += 1
            most = max(most, waiting)
            await asyncio.sleep(hold)
            waiting -= 1
            return capture.status

    async with Fetcher(policy) as fetcher:
        statuses = await asyncio.gather(*(one(fetcher, i) for i in range(count)))
    return list(statuses), most


def test_pages_wait_for_room_before_they_are_fetched(
    flaky_server: tuple[str, dict[str, int]],
) -> None:
    base, _ = flaky_server
    policy = FetchPolicy(max_connections=8, per_host=8, host_delay=0, retries=1, backoff=0.01)

    async def run() -> tuple[list[int | None], int, int]:
        room = Room(3)
        held = fetch_and_hold(base, 20, policy, room, hold=0.02)
        statuses, most = await asyncio.wait_for(held, 10)  # a deadlock fails, never hangs
        return statuses, most, room.free()

    statuses, most, free = asyncio.run(run())
    assert statuses == [200] * 20
    assert most <= 3  # without the room: all 20 fetched before the first is processed
    assert free == 3  # every place given back


def test_a_retry_gives_its_place_back_so_its_host_turn_never_deadlocks(
    flaky_server: tuple[str, dict[str, int]],
) -> None:
    """One place, one connection to the host, every first answer a 503: a check that
    kept its place while waiting to retry would wait for the host's turn held by a check
    that waits for that place, until the fetch's budget ran out."""
    base, asked = flaky_server
    policy = FetchPolicy(
        max_connections=1, per_host=1, host_delay=0, retries=1, backoff=0.01, read_timeout=2
    )

    async def run() -> list[int | None]:
        held = fetch_and_hold(base, 4, policy, Room(1), hold=0.0)
        statuses, _ = await asyncio.wait_for(held, 10)  # a deadlock fails, never hangs
        return statuses

    started = time.monotonic()
    assert asyncio.run(run()) == [200] * 4
    assert time.monotonic() - started < 2  # not one budget timeout
    assert sorted(asked.values()) == [2, 2, 2, 2]


def test_a_first_capture_holds_few_pages_however_long_the_list(
    tmp_path: Path, site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checker's own room: 60 pages fetched quickly, processed slowly."""
    monkeypatch.setattr(check_module, "ROOM_PER_THREAD", 1)  # 8 connections + 4 threads
    paths = [f"/p{i}" for i in range(60)]
    for path in paths:
        site.set(path, f"<main><h1>{path}</h1><p>是否是维族</p></main>")
    watchlist = load_watchlist(pages_watchlist(tmp_path / "w.yaml", site, paths))
    waiting = [0, 0]
    lock = threading.Lock()
    fetch, process = check_module.fetch_watch, check_module.Checker.process

    async def counted_fetch(*args: object, **kwargs: object) -> object:
        capture = await fetch(*args, **kwargs)  # type: ignore[arg-type]
        with lock:
            waiting[0] += 1
            waiting[1] = max(waiting)
        return capture

    def slow_process(self: object, *args: object) -> object:
        time.sleep(0.005)
        try:
            return process(self, *args)  # type: ignore[arg-type]
        finally:
            with lock:
                waiting[0] -= 1

    monkeypatch.setattr(check_module, "fetch_watch", counted_fetch)
    monkeypatch.setattr(check_module.Checker, "process", slow_process)
    with open_store(tmp_path / "data") as store:
        results = asyncio.run(check_module.run_checks(store, watchlist, watchlist.watches))
    assert [r.outcome for r in results] == [Outcome.OK] * 60
    assert waiting[1] <= 8 + 4
