"""Fetching: politeness limits, honest User-Agent, retries, conditional requests."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import httpcore
import pytest
from conftest import loopback

from monitor.fetch.guarded import KnownSocketStream
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

    with loopback(Handler) as base:
        yield base, recorder


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


class _Inner(httpcore.AsyncNetworkStream):
    """The stream KnownSocketStream wraps: counts how often it is asked."""

    def __init__(self, raw: socket.socket) -> None:
        self.raw, self.asked = raw, 0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.raw.recv(max_bytes)

    def get_extra_info(self, info: str) -> object:
        self.asked += 1
        return self.raw if info == "socket" else ("127.0.0.1", 1)


def test_a_kept_connection_knows_when_the_server_closed_it() -> None:
    """The pool's "is anything to read?" (a closed keep-alive connection must not be
    reused) answered from the socket itself, looked up once."""
    ours, server = socket.socketpair()
    inner = _Inner(ours)
    stream = KnownSocketStream(inner)
    try:
        assert stream.get_extra_info("is_readable") is False
        assert stream.get_extra_info("is_readable") is False
        server.close()  # the server ends the connection: a read would return b""
        assert stream.get_extra_info("is_readable") is True
        assert asyncio.run(stream.read(10)) == b""
        assert stream.get_extra_info("socket") is ours and inner.asked == 1
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", 1)
        ours.close()
        assert stream.get_extra_info("is_readable") is True  # gone: reads as closed
    finally:
        ours.close()
        server.close()
