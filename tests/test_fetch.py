"""Fetching: politeness limits, honest User-Agent, retries, conditional requests."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitor.fetch.http import Fetcher, FetchPolicy, user_agent


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.starts: list[float] = []
        self.agents: list[str] = []


@pytest.fixture
def slow_server() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            with recorder.lock:
                recorder.active += 1
                recorder.peak = max(recorder.peak, recorder.active)
                recorder.starts.append(time.monotonic())
                recorder.agents.append(self.headers.get("User-Agent", ""))
            time.sleep(0.15)
            body = b"<p>ok</p>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            with recorder.lock:
                recorder.active -= 1

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", recorder
    server.shutdown()
    server.server_close()


async def fetch_all(base: str, count: int, policy: FetchPolicy) -> list[int | None]:
    async with Fetcher(policy) as fetcher:
        captures = await asyncio.gather(*(fetcher.fetch(f"{base}/p{i}") for i in range(count)))
    return [c.status for c in captures]


def test_per_host_limit_and_spacing(slow_server: tuple[str, Recorder]) -> None:
    base, recorder = slow_server
    policy = FetchPolicy(max_connections=8, per_host=2, host_delay=0.05, contact="me@example.org")
    assert asyncio.run(fetch_all(base, 8, policy)) == [200] * 8
    assert recorder.peak == 2
    # Starts are spaced by host_delay on the client; arrival jitter can shorten one gap
    # but not the span of all eight.
    span = recorder.starts[-1] - recorder.starts[0]
    assert span >= 7 * 0.05 - 0.02
    assert set(recorder.agents) == {user_agent("me@example.org")}
    assert "monitor/" in recorder.agents[0] and "me@example.org" in recorder.agents[0]


def test_global_limit_applies_across_hosts(slow_server: tuple[str, Recorder]) -> None:
    base, recorder = slow_server
    policy = FetchPolicy(max_connections=3, per_host=10, host_delay=0)
    asyncio.run(fetch_all(base, 9, policy))
    assert recorder.peak == 3
