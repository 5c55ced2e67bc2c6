"""The HTTP client's side of the address rule (see guard.py): an httpx transport whose
connections are opened only to addresses the rule allows.

Names are resolved here, once per connection, and the socket is opened to the address
that was checked (so the check and the connection cannot see two different answers);
the peer address of the open socket is checked once more. Each zone has its own
connection pool, so a keep-alive connection opened for a loopback watch is never handed
to a public watch's redirect.
"""

from __future__ import annotations

import asyncio
import contextvars
import select
import socket
import ssl
import threading
import typing
from collections.abc import Iterator
from contextlib import contextmanager

import httpcore
import httpx

from .guard import AddressKind, AddressPolicy, AddressRefused

_ZONE: contextvars.ContextVar[AddressKind] = contextvars.ContextVar(
    "monitor_fetch_zone", default=AddressKind.PUBLIC
)


@contextmanager
def zone(kind: AddressKind) -> Iterator[None]:
    """Requests made inside this block belong to a check whose watch lives in ``kind``."""
    token = _ZONE.set(kind)
    try:
        yield
    finally:
        _ZONE.reset(token)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to addresses a check in ``zone`` may reach."""

    def __init__(self, policy: AddressPolicy, kind: AddressKind) -> None:
        self.policy = policy
        self.zone = kind
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        candidates = await self._permitted(host, port, timeout)
        error: Exception = httpcore.ConnectError(f"{host} has no address")
        for ip in candidates:
            try:
                stream = await self._inner.connect_tcp(
                    ip, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failed:
                error = failed
                continue
            peer = stream.get_extra_info("server_addr")
            try:
                self.policy.check_peer(host, port, str(peer[0]) if peer else ip, self.zone)
            except AddressRefused:
                await stream.aclose()
                raise
            return KnownSocketStream(stream)
        raise error

    async def _permitted(self, host: str, port: int, timeout: float | None) -> list[str]:
        try:
            async with asyncio.timeout(timeout):
                return await self.policy.permitted(host, port, self.zone)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from error
        except OSError as error:  # gaierror: the name does not resolve
            raise httpcore.ConnectError(f"{host}: {error}") from error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused(f"refused to connect to the Unix socket {path}")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def ca_bundle() -> str:
    """The CA certificates a TLS peer must chain to: certifi's, as httpx's default."""
    import certifi

    return str(certifi.where())


class VerifyingContext(ssl.SSLContext):
    """A client context that verifies as :func:`ssl.create_default_context` does, and
    reads the CA bundle at its first handshake rather than when it is made.

    Reading the bundle costs about 18 ms, a tenth of a 20-page check's start-up, and a
    watchlist of plain-HTTP pages never needs it. Hostnames and certificates are checked
    all the same (``PROTOCOL_TLS_CLIENT``: ``check_hostname``, ``CERT_REQUIRED``).
    """

    _trust_lock: threading.Lock
    _trusted: bool

    def __new__(cls) -> VerifyingContext:
        context = super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)
        context._trust_lock = threading.Lock()
        context._trusted = False
        return context

    def _trust(self) -> None:
        with self._trust_lock:
            if not self._trusted:
                self.load_verify_locations(cafile=ca_bundle())
                self._trusted = True

    def wrap_bio(self, *args: typing.Any, **kwargs: typing.Any) -> ssl.SSLObject:
        self._trust()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: typing.Any, **kwargs: typing.Any) -> ssl.SSLSocket:
        self._trust()
        return super().wrap_socket(*args, **kwargs)


class KnownSocketStream(httpcore.AsyncNetworkStream):
    """A connection that answers "is anything waiting to be read?" from its own socket.

    The pool asks that of every idle connection each time it places a request
    (``is_readable``: has the server closed it?). anyio answers by building a table of
    every attribute of the stream first, a tenth of an unchanged page's CPU; the socket
    never changes (TLS wraps the same one), so it is looked up once.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream, raw: socket.socket | None = None):
        self._inner = inner
        self._socket = raw if raw is not None else inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        wrapped = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return KnownSocketStream(wrapped, self._socket)

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "socket":
            return self._socket
        if info == "is_readable":
            return _readable(self._socket)
        return self._inner.get_extra_info(info)


def _readable(raw: socket.socket | None) -> bool:
    """Would a read return at once (data, or the end of a closed connection)?"""
    descriptor = raw.fileno() if raw is not None else -1
    if descriptor < 0:
        return True  # gone: the next read ends it, as httpcore treats it
    poller = select.poll()
    poller.register(descriptor, select.POLLIN)
    return bool(poller.poll(0))


class _ZoneTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (its error mapping, its streams) over a guarded pool."""

    def __init__(self, limits: httpx.Limits, backend: GuardedBackend) -> None:
        context = VerifyingContext()  # one for both; TLS always verified
        super().__init__(verify=context, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


class GuardedTransport(httpx.AsyncBaseTransport):
    """Sends each request through the pool of its check's zone (see :func:`zone`)."""

    def __init__(self, policy: AddressPolicy, limits: httpx.Limits) -> None:
        self.policy = policy
        self.limits = limits
        self._pools: dict[AddressKind, _ZoneTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        kind = _ZONE.get()
        pool = self._pools.get(kind)
        if pool is None:
            pool = self._pools[kind] = _ZoneTransport(
                self.limits, GuardedBackend(self.policy, kind)
            )
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()
        self._pools.clear()
