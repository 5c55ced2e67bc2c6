"""The browser's side of the address rule (see guard.py): a SOCKS5 proxy on 127.0.0.1,
one per render, through which Chromium opens every connection.

Chromium hands a SOCKS5 proxy the host *name* (it resolves nothing itself), so the proxy
resolves it, applies the rule to each address, connects to an allowed one and checks the
socket's peer: every hop of a redirect, every subresource, script request and WebSocket
of the page is held to the zone of the watch's own URL, and a name that rebinds between
two look-ups is refused where it lands. Playwright proxies loopback too (it adds
``<-loopback>`` to the bypass list), so loopback addresses get no exemption.

A refused connection is answered "not allowed by ruleset" and noted in ``refusals``;
when the page itself could not load because of one, the render is recorded as
``refused`` with that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import struct

from .guard import AddressKind, AddressPolicy, AddressRefused

log = logging.getLogger(__name__)

_VERSION = 5
_NO_AUTH, _NO_METHOD = 0, 0xFF
_CONNECT = 1
_IPV4, _DOMAIN, _IPV6 = 1, 3, 4
_OK, _NOT_ALLOWED, _HOST_UNREACHABLE, _NOT_SUPPORTED = 0, 2, 4, 7
_CHUNK = 65536


class _Unsupported(Exception):
    pass


class GuardProxy:
    """``proxy = await GuardProxy.start(policy, url, timeout)``; ``await proxy.close()``."""

    def __init__(self, policy: AddressPolicy, zone: AddressKind, timeout: float) -> None:
        self.policy = policy
        self.zone = zone
        self.timeout = timeout
        self.refusals: list[str] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    async def start(cls, policy: AddressPolicy, url: str, timeout: float) -> GuardProxy:
        """A proxy for a render of ``url``, listening, its zone that of ``url``."""
        try:
            async with asyncio.timeout(timeout):
                zone = await policy.zone_of(url)
        except TimeoutError:
            zone = AddressKind.PUBLIC
        proxy = cls(policy, zone, timeout)
        proxy._server = await asyncio.start_server(proxy._serve, "127.0.0.1", 0)
        return proxy

    @property
    def playwright_proxy(self) -> dict[str, str]:
        """The ``proxy`` option of a Playwright context that sends it all through here."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return {"server": f"socks5://127.0.0.1:{port}"}

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            await self._tunnel(reader, writer)
        except (OSError, asyncio.IncompleteReadError, _Unsupported, TimeoutError) as error:
            log.debug("browser proxy: %s", error)
        except asyncio.CancelledError:
            pass  # only close() cancels: the render is over
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.close()

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = await _handshake(reader, writer)
        try:
            async with asyncio.timeout(self.timeout):
                upstream = await self._connect(host, port)
        except AddressRefused as refused:
            self.refusals.append(str(refused))
            log.info("browser: %s", refused)
            await _reply(writer, _NOT_ALLOWED)
            return
        except (OSError, TimeoutError):
            await _reply(writer, _HOST_UNREACHABLE)
            return
        await _reply(writer, _OK)
        up_reader, up_writer = upstream
        try:
            await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))
        finally:
            up_writer.close()

    async def _connect(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        failure: OSError = OSError(f"{host} has no address")
        for ip in await self.policy.permitted(host, port, self.zone):
            try:
                up_reader, up_writer = await asyncio.open_connection(ip, port)
            except OSError as error:
                failure = error
                continue
            peer = up_writer.get_extra_info("peername")
            try:
                self.policy.check_peer(host, port, str(peer[0]) if peer else ip, self.zone)
            except AddressRefused:
                up_writer.close()
                raise
            return up_reader, up_writer
        raise failure


async def _handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[str, int]:
    """The SOCKS5 greeting and CONNECT request (RFC 1928): the host and port asked for."""
    version, count = await reader.readexactly(2)
    methods = await reader.readexactly(count)
    if version != _VERSION or _NO_AUTH not in methods:
        writer.write(bytes((_VERSION, _NO_METHOD)))
        raise _Unsupported("not a SOCKS5 client without authentication")
    writer.write(bytes((_VERSION, _NO_AUTH)))
    version, command, _, kind = await reader.readexactly(4)
    if kind == _IPV4:
        host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
    elif kind == _IPV6:
        host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
    elif kind == _DOMAIN:
        (length,) = await reader.readexactly(1)
        host = (await reader.readexactly(length)).decode("idna")
    else:
        await _reply(writer, _NOT_SUPPORTED)
        raise _Unsupported(f"address type {kind}")
    (port,) = struct.unpack("!H", await reader.readexactly(2))
    if version != _VERSION or command != _CONNECT:
        await _reply(writer, _NOT_SUPPORTED)
        raise _Unsupported(f"command {command}")
    return host, port


async def _reply(writer: asyncio.StreamWriter, status: int) -> None:
    writer.write(bytes((_VERSION, status, 0, _IPV4)) + bytes(6))  # bound address: unused
    with contextlib.suppress(OSError):
        await writer.drain()


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(_CHUNK):
            sink.write(data)
            await sink.drain()
    finally:
        with contextlib.suppress(OSError):
            if sink.can_write_eof():
                sink.write_eof()
