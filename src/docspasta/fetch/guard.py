"""The network guard: which addresses the fetcher may open a connection to.

The guard is an httpcore2 network backend, so it sits under every connection the fetcher's pool
opens, whatever URL or redirect led there. ``GuardedBackend.connect_tcp`` resolves the host
itself, refuses the connection unless every resolved address is globally routable, then connects
to the very addresses it checked — there is no second lookup a rebinding DNS server could answer
differently. TLS is started afterwards by httpcore2 with the origin's host name, so SNI and
certificate checks still name the host, not the address.

Hosts named in an explicit allow-list (loopback fixture servers in tests) skip the address check.
Nothing is allowed by default.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Iterable

import httpcore2

from docspasta.errors import GuardRefusedError

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
# Special-purpose blocks that this Python's is_global still counts as global.
_SPECIAL_PURPOSE: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.IPv4Network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.IPv4Network("192.88.99.0/24"),  # deprecated 6to4 relay anycast
    ipaddress.IPv6Network("3fff::/20"),  # documentation (RFC 9637)
    ipaddress.IPv6Network("5f00::/16"),  # SRv6 SIDs (RFC 9602)
)


def normalise_host(host: str) -> str:
    """The form in which hosts are compared with the allow-list: lower case, no brackets."""
    return host.strip().removeprefix("[").removesuffix("]").lower()


def parse_ip(host: str) -> IPAddress | None:
    """The address ``host`` is written as (``"127.0.0.1"``, ``"[::1]"``), or None for a name."""
    try:
        return ipaddress.ip_address(normalise_host(host))
    except ValueError:
        return None


def _plain_refusal(address: IPAddress) -> str | None:
    """What makes ``address`` unroutable on the public internet, ignoring embedded IPv4."""
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "an unspecified"),
        (address.is_loopback, "a loopback"),
        (address.is_link_local, "a link-local"),
        (address.is_multicast, "a multicast"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "a carrier-grade NAT"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "a site-local"),
        (isinstance(address, ipaddress.IPv6Address) and address in _NAT64_LOCAL, "a local NAT64"),
        (address.is_private, "a private"),
        (any(address in network for network in _SPECIAL_PURPOSE), "a special-purpose"),
        (address.is_reserved, "a reserved"),
        (not address.is_global, "a non-global"),
    )
    for refused, kind in checks:
        if refused:
            return f"{kind} address {address}"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address stands for, with the name of the mechanism."""
    if address.ipv4_mapped is not None:
        return "an IPv4-mapped", address.ipv4_mapped
    if address in _NAT64:
        return "a NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return "a 6to4", address.sixtofour
    return None


def refusal_reason(address: IPAddress) -> str | None:
    """None when the guard lets a connection to ``address`` through, else what the address is.

    The reason reads as a noun phrase: ``"a loopback address 127.0.0.1"``,
    ``"a NAT64 address 64:ff9b::7f00:1 embedding a loopback address 127.0.0.1"``.
    IPv6 forms that carry an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by that IPv4
    address; Teredo tunnels are refused outright.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.teredo is not None:
            return f"a Teredo address {address}"
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            kind, inner = embedded
            inner_reason = _plain_refusal(inner)
            if inner_reason is None:
                return None
            return f"{kind} address {address} embedding {inner_reason}"
    return _plain_refusal(address)


def first_refusal(addresses: Iterable[IPAddress]) -> str | None:
    """The reason the first refused address in ``addresses`` is refused, or None if none is."""
    for address in addresses:
        reason = refusal_reason(address)
        if reason is not None:
            return reason
    return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The TCP addresses of ``host``, in resolver order, without duplicates.

    An IP literal is returned as is, without any lookup. Raises ``OSError``
    (``socket.gaierror``) when the name does not resolve; the list is never empty.
    """
    literal = parse_ip(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    found: dict[IPAddress, None] = {}
    for family, _type, _proto, _name, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            found[ipaddress.ip_address(sockaddr[0])] = None
    if not found:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} has no IPv4 or IPv6 address")
    return list(found)


class GuardedBackend(httpcore2.AsyncNetworkBackend):
    """An httpcore2 network backend that connects only to globally routable addresses.

    ``connect_tcp`` raises ``GuardRefusedError`` (its ``url`` is the bare host; the fetcher
    replaces it with the URL being fetched) when any address of the host is refused, and
    ``httpcore2.ConnectError`` / ``ConnectTimeout`` when the host does not resolve or no
    address accepts the connection. Hosts in ``allow_private_hosts`` are connected to without
    the address check. Unix sockets are always refused.
    """

    def __init__(self, allow_private_hosts: frozenset[str] = frozenset()) -> None:
        self._allowed = frozenset(normalise_host(host) for host in allow_private_hosts)
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore2's backend interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        addresses = await self._resolve(host, port, timeout)
        if normalise_host(host) not in self._allowed:
            reason = first_refusal(addresses)
            if reason is not None:
                logger.warning("network guard refused %s: resolves to %s", host, reason)
                raise GuardRefusedError(host, f"{host} resolves to {reason}")
        last_error: httpcore2.ConnectError | httpcore2.ConnectTimeout | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                logger.debug("connecting to %s (%s) port %s failed: %s", host, address, port, exc)
                last_error = exc
        assert last_error is not None  # resolve() never returns an empty list
        raise last_error

    async def _resolve(self, host: str, port: int, seconds: float | None) -> list[IPAddress]:
        try:
            async with asyncio.timeout(seconds):
                return await resolve(host, port)
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(f"resolving {host} timed out") from exc
        except (OSError, UnicodeError) as exc:
            raise httpcore2.ConnectError(f"{host} does not resolve: {exc}") from exc

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore2's backend interface
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise GuardRefusedError(path, "unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
