"""Fetching: URL -> Capture (raw bytes plus everything needed to prove what was seen).

One shared ``httpx.AsyncClient`` per run (keep-alive), a global connection limit, a
per-host concurrency limit and a minimum delay between requests to the same host.
Transient failures (timeouts, resets, DNS, truncated bodies, 5xx, 429) are retried
with exponential backoff and jitter, honouring ``Retry-After``. The decoded body is
capped in size (a gzip bomb stops at the cap), every phase has a timeout, a whole
attempt has a deadline, and so does the whole fetch (every attempt and wait): a server
dripping one byte a second cannot hold a check longer than a bound derived from the
timeout, and an answer that was merely slow is not asked for again. Connections go only
where the address rule allows (guard.py): never from a public watch into private,
loopback or link-local space.

Fetch failures are never raised: they come back as a Capture with ``error_class`` set,
so they are recorded as evidence like any other check.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from .. import __version__
from ..config import defaults
from ..config.settings import Settings
from ..model import Capture, ErrorClass
from . import HostGate, room
from .budget import Budget, counting, received, too_slow
from .guard import AddressKind, AddressPolicy, AddressRefused
from .guarded import GuardedTransport, zone

_RETRY_STATUSES = frozenset((429, 500, 502, 503, 504, 520, 521, 522, 523, 524))


def user_agent(contact: str | None = None) -> str:
    """An honest User-Agent: names the tool, and the operator's contact if given.

    >>> user_agent("research@example.org")
    'monitor/0.1.0 (documentation change monitor; contact: research@example.org)'
    """
    contact_part = f"; contact: {contact}" if contact else ""
    return f"monitor/{__version__} (documentation change monitor{contact_part})"


@dataclass(frozen=True)
class FetchPolicy:
    connect_timeout: float = min(defaults.TIMEOUT, 10.0)
    read_timeout: float = defaults.TIMEOUT
    # Whole response incl. body, against byte-dripping (None: derived from read_timeout).
    attempt_deadline: float | None = None
    check_deadline: float | None = None  # every attempt and wait of one fetch (None: derived)
    max_bytes: int = int(defaults.MAX_BODY_MB * 1024 * 1024)  # decoded body cap
    max_redirects: int = 10
    retries: int = defaults.RETRIES  # extra attempts after the first, transient failures
    backoff: float = 1.0  # first backoff, doubled each retry, with jitter
    max_wait: float = 60.0  # cap on a backoff or Retry-After wait
    max_connections: int = defaults.MAX_CONNECTIONS
    per_host: int = defaults.PER_HOST
    host_delay: float = defaults.HOST_DELAY  # minimum seconds between starts to one host
    contact: str | None = None
    browser_pages: int = defaults.BROWSER_PAGES  # pages rendered at once (fetch: browser)
    browser_memory_mb: int = defaults.BROWSER_MEMORY_MB  # the browser's memory ceiling
    # Longer delays for some hosts ((netloc, seconds), ...): robots.txt Crawl-delay.
    host_delays: tuple[tuple[str, float], ...] = ()
    # Where connections may go (guard.py).
    addresses: AddressPolicy = field(default_factory=AddressPolicy)

    @property
    def attempt_seconds(self) -> float:
        """One attempt's deadline for a complete response.

        >>> FetchPolicy(read_timeout=30).attempt_seconds, FetchPolicy(read_timeout=30).check_seconds
        (90.0, 120.0)
        """
        if self.attempt_deadline is not None:
            return self.attempt_deadline
        return defaults.ATTEMPT_DEADLINE_TIMEOUTS * self.read_timeout

    @property
    def check_seconds(self) -> float:
        """The deadline of a whole fetch, from its first request: every attempt and wait."""
        if self.check_deadline is not None:
            return self.check_deadline
        return max(defaults.CHECK_DEADLINE_TIMEOUTS * self.read_timeout, self.attempt_seconds)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> FetchPolicy:
        """The policy a watchlist's settings ask for (``overrides`` win).

        >>> FetchPolicy.from_settings(Settings(timeout=5), host_delay=0).connect_timeout
        5
        """
        policy = cls(
            max_connections=settings.max_connections,
            per_host=settings.per_host,
            host_delay=settings.host_delay,
            retries=settings.retries,
            connect_timeout=min(settings.timeout, 10.0),
            read_timeout=settings.timeout,
            max_bytes=int(settings.max_body_mb * 1024 * 1024),
            contact=settings.contact,
            browser_pages=settings.browser_pages,
            browser_memory_mb=settings.browser_memory_mb,
        )
        return replace(policy, **overrides)


class _TooLarge(Exception):
    pass


@dataclass
class _Host:
    key: str
    slots: asyncio.Semaphore
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_start: float = 0.0


class HttpFetcher:
    """Async HTTP fetcher; use as ``async with HttpFetcher(policy) as fetcher``."""

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        gate: HostGate | None = None,
    ) -> None:
        self.policy = policy or FetchPolicy()
        self._transport = transport  # a test's own: the address rule is then its business
        self.gate = gate  # a shared per-host gate instead of this process's own limits
        self._hosts: dict[str, _Host] = {}
        self._delays: dict[str, float] = dict(self.policy.host_delays)
        self._client: httpx.AsyncClient | None = None

    def set_host_delay(self, netloc: str, seconds: float) -> None:
        """Space requests to one host at least this far apart (a robots.txt Crawl-delay).

        Never shortens the policy's own ``host_delay``.
        """
        self._delays[netloc.lower()] = max(seconds, self._delays.get(netloc.lower(), 0.0))

    def host_delays(self) -> tuple[tuple[str, float], ...]:
        """The per-host delays in force, to hand on to other fetchers (worker processes)."""
        return tuple(sorted(self._delays.items()))

    async def __aenter__(self) -> HttpFetcher:
        p = self.policy
        limits = httpx.Limits(
            max_connections=p.max_connections, max_keepalive_connections=p.max_connections
        )
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(p.read_timeout, connect=p.connect_timeout),
            limits=limits,
            follow_redirects=True,
            max_redirects=p.max_redirects,
            headers={"User-Agent": user_agent(p.contact)},
            transport=self._transport or GuardedTransport(p.addresses, limits),
            trust_env=False,  # no surprise proxies from the environment
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def fetch(
        self,
        url: str,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Capture:
        """Fetch a URL with retries; never raises for network or HTTP failures."""
        request_headers = dict(headers)
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        started = time.monotonic()
        fetched_at = datetime.now(UTC)
        where = await self._zone_of(url)
        budget = Budget(self.policy.check_seconds)
        attempt = 0
        while True:
            attempt += 1
            with zone(where):
                capture, final = await self._attempt(url, request_headers, fetched_at, budget)
            wait = None if final else self._retry_wait(capture, attempt, budget.remaining())
            if wait is None:
                break
            room.give_back()  # this attempt's answer is dropped (room.py)
            await asyncio.sleep(wait)
        return replace(capture, attempts=attempt, elapsed=time.monotonic() - started)

    async def _zone_of(self, url: str) -> AddressKind:
        """The address space the watch's own URL is in (guard.py), looked up once."""
        try:
            async with asyncio.timeout(self.policy.connect_timeout):
                return await self.policy.addresses.zone_of(url)
        except TimeoutError:
            return AddressKind.PUBLIC  # the strictest; the fetch itself will time out

    def _retry_wait(self, capture: Capture, attempt: int, remaining: float) -> float | None:
        """Seconds to wait before retrying, or None when the capture is final.

        Only transient failures are retried, and only when the wait still leaves the
        fetch's budget room for an attempt that could succeed (a read timeout's worth).
        """
        if attempt > self.policy.retries:
            return None
        retryable = capture.error_class == ErrorClass.TRANSIENT or capture.status in _RETRY_STATUSES
        if not retryable:
            return None
        backoff = self.policy.backoff * (2 ** (attempt - 1))
        wait = backoff * (0.5 + random.random())  # jitter spreads retries of many watches
        retry_after = parse_retry_after(capture.header("retry-after"))
        if retry_after is not None:
            wait = max(wait, retry_after)
        wait = min(wait, self.policy.max_wait)
        worth = min(self.policy.read_timeout, self.policy.attempt_seconds)
        return wait if remaining - wait >= worth else None

    async def _attempt(
        self, url: str, headers: dict[str, str], fetched_at: datetime, budget: Budget
    ) -> tuple[Capture, bool]:
        """One attempt in the host's turn; True with the capture when it is final
        (never worth retrying: too slow, refused), False when the retry rules decide."""
        assert self._client is not None, "use 'async with Fetcher(...)'"
        if budget.started is None:  # the first attempt: waiting for a turn costs nothing
            return await self._in_turn(url, headers, fetched_at, budget)
        try:  # a retry's wait for its turn counts against the budget
            async with asyncio.timeout(max(budget.remaining(), 0.0)):
                return await self._in_turn(url, headers, fetched_at, budget)
        except TimeoutError:
            message = f"no turn at the host within the fetch's {budget.seconds:g}s"
            return _failed(url, fetched_at, ErrorClass.TRANSIENT, message), True

    async def _in_turn(
        self, url: str, headers: dict[str, str], fetched_at: datetime, budget: Budget
    ) -> tuple[Capture, bool]:
        if self.gate is not None:
            async with self.gate.slot(urlsplit(url).netloc.lower()):
                await room.take()  # after the host's turn, never before it (room.py)
                return await self._deadline_request(url, headers, fetched_at, budget)
        host = self._host(url)
        async with host.slots:
            await self._space_requests(host, self._delays.get(host.key, 0.0))
            await room.take()
            return await self._deadline_request(url, headers, fetched_at, budget)

    async def _deadline_request(
        self, url: str, headers: dict[str, str], fetched_at: datetime, budget: Budget
    ) -> tuple[Capture, bool]:
        """One request under the attempt's deadline (cut to what is left of the budget).

        A response still arriving at the deadline is final: a server that drips will
        drip again, so it is not asked a second time.
        """
        budget.start()
        seconds = max(min(self.policy.attempt_seconds, budget.remaining()), 0.0)
        with counting():  # the body bytes received, for a slow answer's reason
            try:
                async with asyncio.timeout(seconds):
                    return await self._request(url, headers, fetched_at), False
            except TimeoutError:
                return _failed(url, fetched_at, ErrorClass.TRANSIENT, too_slow(seconds)), True
            except AddressRefused as error:
                return _failed(url, fetched_at, ErrorClass.REFUSED, str(error)), True

    @asynccontextmanager
    async def host_turn(self, url: str) -> AsyncIterator[None]:
        """One of a host's connection slots, its start spaced like any request's.

        For another fetcher of the same run (the browser), so that the politeness
        limits hold across both.
        """
        host = self._host(url)
        async with host.slots:
            await self._space_requests(host)
            await room.take()
            yield

    def _host(self, url: str) -> _Host:
        key = urlsplit(url).netloc.lower()
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host(key, asyncio.Semaphore(self.policy.per_host))
        return host

    async def _space_requests(self, host: _Host, own_delay: float = 0.0) -> None:
        delay = max(self.policy.host_delay, own_delay)
        if delay <= 0:
            return  # no spacing asked for: skip the lock's extra event-loop round trips
        async with host.lock:
            wait = host.last_start + delay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            host.last_start = time.monotonic()

    async def _request(self, url: str, headers: dict[str, str], fetched_at: datetime) -> Capture:
        assert self._client is not None
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                body = await self._read_capped(response)
                return Capture(
                    url=url,
                    fetched_at=fetched_at,
                    status=response.status_code,
                    final_url=str(response.url),
                    headers=tuple(response.headers.multi_items()),
                    body=body,
                    redirects=tuple((r.status_code, str(r.url)) for r in response.history),
                )
        except _TooLarge:
            return _failed(
                url,
                fetched_at,
                ErrorClass.TOO_LARGE,
                f"body larger than {self.policy.max_bytes} bytes; not stored",
            )
        except httpx.TooManyRedirects as error:
            return _failed(
                url, fetched_at, ErrorClass.REDIRECT_LOOP, f"redirect loop or chain: {error}"
            )
        except (httpx.TransportError, httpx.DecodingError) as error:
            # timeouts, resets, DNS, protocol errors (incl. truncated bodies)
            return _failed(url, fetched_at, ErrorClass.TRANSIENT, self._describe(error))
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as error:
            return _failed(url, fetched_at, ErrorClass.INVALID, f"{type(error).__name__}: {error}")

    def _describe(self, error: Exception) -> str:
        """A transport error's reason; httpx's timeouts often come without a message."""
        silent: dict[type[Exception], str] = {
            httpx.ConnectTimeout: f"no connection within {self.policy.connect_timeout:g}s",
            httpx.ReadTimeout: f"the server went silent for {self.policy.read_timeout:g}s",
        }
        detail = str(error) or silent.get(type(error), "no detail")
        return f"{type(error).__name__}: {detail}"

    async def _read_capped(self, response: httpx.Response) -> bytes:
        if response.status_code == 304:
            return b""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            received(size)
            if size > self.policy.max_bytes:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)


def _failed(url: str, fetched_at: datetime, error_class: ErrorClass, message: str) -> Capture:
    return Capture(url=url, fetched_at=fetched_at, error_class=error_class, error=message)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date).

    >>> parse_retry_after("3"), parse_retry_after(None), parse_retry_after("soon")
    (3.0, None, None)
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


Fetcher = HttpFetcher  # the name older code and scripts import
