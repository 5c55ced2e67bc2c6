"""Where requests may go: the address rule, checked on every connection we open.

A watch's *zone* is the kind of address its own URL resolves to when a check starts.
Every connection of that check (each redirect hop, each of a browser's requests) may go
to a public address or to an address of the zone's own kind, and nowhere else: a watch
of a public page is never sent into private, loopback or link-local space (a cloud
metadata service at 169.254.169.254), while a watch of an intranet or loopback page
(tests, internal wikis) may stay in its own space.

The rule is applied to the address a connection is really opened to, after resolving
the name ourselves, so a name that resolves to a public address for one look-up and to
a private one for the next (DNS rebinding) is refused at the second. Resolution and
classification are injectable (:class:`AddressPolicy`), so tests can declare loopback
addresses "public" or "link-local" without touching the internet.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv6 that a gateway maps to IPv4
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


class AddressKind(StrEnum):
    """The address spaces the rule tells apart."""

    PUBLIC = "public"
    PRIVATE = "private"  # RFC 1918, unique-local, shared (CGNAT), reserved and the like
    LOOPBACK = "loopback"  # this machine (0.0.0.0 and :: reach it too)
    LINK_LOCAL = "link-local"  # 169.254/16, fe80::/10: where cloud metadata services live

    @property
    def described(self) -> str:
        if self is AddressKind.LINK_LOCAL:
            return "link-local address space (where cloud metadata services answer)"
        return f"{self.value} address space"


class AddressRefused(Exception):
    """A connection the address rule does not allow (recorded as ``refused``)."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    return None


def address_kind(address: IPAddress, port: int = 0) -> AddressKind:
    """The kind of address space an IP address belongs to (``port`` unused here: a
    test's classifier may use it).

    >>> [address_kind(ipaddress.ip_address(a)) for a in
    ...  ("93.184.216.34", "10.1.2.3", "127.0.0.1", "169.254.169.254", "::ffff:169.254.169.254",
    ...   "0.0.0.0", "100.64.0.1", "fd00::1", "64:ff9b::7f00:1", "2606:4700::1111")]
    ... # doctest: +NORMALIZE_WHITESPACE
    [<AddressKind.PUBLIC: 'public'>, <AddressKind.PRIVATE: 'private'>,
     <AddressKind.LOOPBACK: 'loopback'>, <AddressKind.LINK_LOCAL: 'link-local'>,
     <AddressKind.LINK_LOCAL: 'link-local'>, <AddressKind.LOOPBACK: 'loopback'>,
     <AddressKind.PRIVATE: 'private'>, <AddressKind.PRIVATE: 'private'>,
     <AddressKind.LOOPBACK: 'loopback'>, <AddressKind.PUBLIC: 'public'>]
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_kind(embedded)
    if address.is_loopback or address.is_unspecified:
        return AddressKind.LOOPBACK
    if address.is_link_local:
        return AddressKind.LINK_LOCAL
    if not address.is_global or address.is_multicast:
        return AddressKind.PRIVATE
    return AddressKind.PUBLIC


Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
Classifier = Callable[[IPAddress, int], AddressKind]


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives for a name, in its order, without
    repeats (an IP literal is its own answer)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    answers = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


def allowed(kind: AddressKind, zone: AddressKind) -> bool:
    """May a check whose watch lives in ``zone`` connect to an address of ``kind``?

    >>> allowed(AddressKind.PUBLIC, AddressKind.LOOPBACK), allowed(
    ...     AddressKind.LINK_LOCAL, AddressKind.PUBLIC)
    (True, False)
    """
    return kind is AddressKind.PUBLIC or kind is zone


@dataclass(frozen=True)
class AddressPolicy:
    """How names are resolved and addresses classified (both replaceable in tests).

    Module-level functions by default, so a policy pickles to worker processes.
    """

    resolver: Resolver = system_resolver
    classify: Classifier = address_kind

    async def addresses(self, host: str, port: int) -> list[tuple[str, AddressKind]]:
        """Each address ``host`` resolves to, with its kind."""
        answers = await self.resolver(host, port)
        return [(ip, self.kind(ip, port)) for ip in answers]

    def kind(self, ip: str, port: int) -> AddressKind:
        return self.classify(ipaddress.ip_address(ip.split("%")[0]), port)

    async def zone_of(self, url: str) -> AddressKind:
        """The zone of a check of ``url``: the kind of address its host resolves to.

        Public when any answer is public (the strictest reading) or when the name does
        not resolve now (the fetch then fails on its own).
        """
        parts = urlsplit(url)
        if not parts.hostname:
            return AddressKind.PUBLIC
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            answers = await self.addresses(parts.hostname, port)
        except (OSError, ValueError, UnicodeError):
            return AddressKind.PUBLIC
        kinds = [kind for _, kind in answers]
        if not kinds or AddressKind.PUBLIC in kinds:
            return AddressKind.PUBLIC
        return kinds[0]

    async def permitted(self, host: str, port: int, zone: AddressKind) -> list[str]:
        """The addresses of ``host`` a check in ``zone`` may connect to, in order.

        Raises :class:`AddressRefused` (naming the address and its kind) when none is.
        """
        answers = await self.addresses(host, port)
        ok = [ip for ip, kind in answers if allowed(kind, zone)]
        if ok or not answers:
            return ok
        ip, kind = answers[0]
        raise AddressRefused(refusal(host, port, ip, kind, zone))

    def check_peer(self, host: str, port: int, ip: str, zone: AddressKind) -> None:
        """Raise :class:`AddressRefused` unless a connection's real peer is allowed."""
        kind = self.kind(ip, port)
        if not allowed(kind, zone):
            raise AddressRefused(refusal(host, port, ip, kind, zone))


def refusal(host: str, port: int, ip: str, kind: AddressKind, zone: AddressKind) -> str:
    """The recorded reason for a refused connection: what, where, and why."""
    target = host if host == ip else f"{host} ({ip})"
    return (
        f"refused to connect to {target} port {port}: {kind.described}; a watch whose "
        f"own address is {zone.value} may only reach public addresses"
        + ("" if zone is AddressKind.PUBLIC else f" and {zone.value} ones")
        + " (to watch a page there on purpose, give a watch that page's own URL)"
    )
