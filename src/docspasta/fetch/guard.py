"""The network guard: which addresses the fetcher may open a connection to.

The guard is an httpcore2 network backend, so it sits under every connection the fetcher's pool
opens, whatever URL or redirect led there. ``GuardedBackend.connect_tcp`` resolves the host
itself, refuses the connection unless every resolved address is globally routable, then connects
to the very addresses it checked — there is no second lookup a rebinding DNS server could answer
differently. TLS is started afterwards by httpcore2 with the origin's host name, so SNI and
certificate checks still name the host, not the address.

Hosts named in an explicit allow-list (loopback fixture servers in tests) skip the address check.
Nothing is allowed by default.

Refusals name the host and the rule (``"resolves to a loopback address"``), never the address a
name resolved to: a user probing the network must not learn what an internal name points at.
The address goes to the operator's log only. Name resolution can be replaced (``Resolver``) so
tests can make any name resolve to any address, rebinding included.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import select
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import httpcore2

from docspasta.errors import GuardRefusedError

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Resolves ``(host, port)`` to addresses (raises ``OSError`` when the name does not resolve).
#: Called once per connection attempt, never for IP literals.
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
#: Legacy IPv4 spellings inet_aton accepts: 2130706433, 0x7f.1, 0177.0.0.1, 127.1.
_LEGACY_IPV4_CHARS = frozenset("0123456789abcdefxABCDEFX.")

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")
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
    """The address ``host`` is written as, or None for a name.

    Besides ``"127.0.0.1"`` and ``"[::1]"``, the legacy IPv4 spellings that the C library
    would accept are read as the address they stand for: decimal (``2130706433``), octal
    (``0177.0.0.1``), hex (``0x7f.0.0.1``) and short (``127.1``) forms, with or without a
    trailing dot. Such a host is never handed to a resolver.
    """
    text = normalise_host(host).removesuffix(".")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if text and set(text) <= _LEGACY_IPV4_CHARS and any(c.isdigit() for c in text[:1]):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def _plain_refusal(address: IPAddress) -> str | None:
    """What kind of unroutable address ``address`` is, ignoring embedded IPv4 (no address)."""
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "an unspecified"),
        (address.is_loopback, "a loopback"),
        (address.is_link_local, "a link-local"),
        (address.is_multicast, "a multicast"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "a carrier-grade NAT"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "a site-local"),
        (isinstance(address, ipaddress.IPv6Address) and address in _NAT64_LOCAL, "a local NAT64"),
        (address == _BROADCAST, "a broadcast"),
        (address.is_reserved, "a reserved"),
        (address.is_private, "a private"),
        (any(address in network for network in _SPECIAL_PURPOSE), "a special-purpose"),
        (not address.is_global, "a non-global"),
    )
    for refused, kind in checks:
        if refused:
            return f"{kind} address"
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


def refusal_rule(address: IPAddress) -> str | None:
    """None when the guard lets a connection to ``address`` through, else the rule, without
    the address: ``"a loopback address"``, ``"a NAT64 address embedding a loopback address"``.

    IPv6 forms that carry an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by that IPv4
    address; Teredo tunnels are refused outright. This is what users see.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.teredo is not None:
            return "a Teredo address"
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            kind, inner = embedded
            inner_rule = _plain_refusal(inner)
            if inner_rule is None:
                return None
            return f"{kind} address embedding {inner_rule}"
    return _plain_refusal(address)


def refusal_reason(address: IPAddress) -> str | None:
    """:func:`refusal_rule` with the addresses named, for the operator's log:
    ``"a loopback address 127.0.0.1"``,
    ``"a NAT64 address 64:ff9b::7f00:1 embedding a loopback address 127.0.0.1"``.
    """
    rule = refusal_rule(address)
    if rule is None:
        return None
    if isinstance(address, ipaddress.IPv6Address) and " embedding " in rule:
        outer, inner = rule.split(" embedding ", 1)
        embedded = _embedded_ipv4(address)
        assert embedded is not None
        return f"{outer} {address} embedding {inner} {embedded[1]}"
    return f"{rule} {address}"


def first_refused(addresses: Iterable[IPAddress]) -> IPAddress | None:
    """The first address in ``addresses`` the guard refuses, or None if none is."""
    for address in addresses:
        if refusal_rule(address) is not None:
            return address
    return None


def first_refusal(addresses: Iterable[IPAddress]) -> str | None:
    """The rule refusing the first refused address in ``addresses`` (no address named)."""
    refused = first_refused(addresses)
    return None if refused is None else refusal_rule(refused)


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The operating system's answer (``getaddrinfo``) for ``host``: its TCP addresses."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [
        ipaddress.ip_address(sockaddr[0])
        for family, _type, _proto, _name, sockaddr in infos
        if family in (socket.AF_INET, socket.AF_INET6)
    ]


async def resolve(host: str, port: int, resolver: Resolver | None = None) -> list[IPAddress]:
    """The TCP addresses of ``host``, in resolver order, without duplicates.

    An IP literal (any spelling :func:`parse_ip` reads) is returned as is, without any lookup.
    Raises ``OSError`` (``socket.gaierror``) when the name does not resolve; the list is never
    empty.
    """
    literal = parse_ip(host)
    if literal is not None:
        return [literal]
    answer = await (resolver or system_resolver)(normalise_host(host), port)
    found = dict.fromkeys(answer)
    if not found:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} has no IPv4 or IPv6 address")
    return list(found)


class _ProbedStream(httpcore2.AsyncNetworkStream):
    """A connection whose idle-readability probe is cheap.

    The connection pool asks every idle connection ``get_extra_info("is_readable")`` (has the
    server closed it?) each time it assigns a request: with 16 connections, some twenty
    probes per page. anyio answers each by building its table of socket attributes, which
    asks the kernel for the peer's address; here the socket is looked up once and the probe
    is one ``poll``. Everything else is the wrapped stream's.
    """

    def __init__(self, stream: httpcore2.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = stream.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore2's stream interface
    ) -> httpcore2.AsyncNetworkStream:
        return _ProbedStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return _readable(self._socket)
        return self._stream.get_extra_info(info)


def _readable(sock: socket.socket) -> bool:
    """httpcore2's ``is_socket_readable``: a closed socket counts as readable (its next read
    would return the end of the stream)."""
    fd = sock.fileno()
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class GuardedBackend(httpcore2.AsyncNetworkBackend):
    """An httpcore2 network backend that connects only to globally routable addresses.

    ``connect_tcp`` raises ``GuardRefusedError`` (its ``url`` is the bare host; the fetcher
    replaces it with the URL being fetched) when any address of the host is refused, and
    ``httpcore2.ConnectError`` / ``ConnectTimeout`` when the host does not resolve or no
    address accepts the connection. Hosts in ``allow_private_hosts`` are connected to without
    the address check. Unix sockets are always refused. ``resolver`` replaces the system's
    name resolution and ``inner`` the backend that opens checked connections (tests use both).
    """

    def __init__(
        self,
        allow_private_hosts: frozenset[str] = frozenset(),
        *,
        resolver: Resolver | None = None,
        inner: httpcore2.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allowed = frozenset(normalise_host(host) for host in allow_private_hosts)
        self._resolver = resolver
        self._inner = inner or httpcore2.AnyIOBackend()

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
            refused = first_refused(addresses)
            if refused is not None:
                logger.info("network guard refused %s: %s", host, refusal_reason(refused))
                raise GuardRefusedError(host, f"{host} resolves to {refusal_rule(refused)}")
        last_error: httpcore2.ConnectError | httpcore2.ConnectTimeout | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                logger.debug("connecting to %s (%s) port %s failed: %s", host, address, port, exc)
                last_error = exc
                continue
            return _ProbedStream(stream)
        assert last_error is not None  # resolve() never returns an empty list
        # The message names the host, not the address it resolved to.
        kind = "timed out" if isinstance(last_error, httpcore2.ConnectTimeout) else "failed"
        raise type(last_error)(f"connecting to {host} port {port} {kind}") from last_error

    async def _resolve(self, host: str, port: int, seconds: float | None) -> list[IPAddress]:
        try:
            async with asyncio.timeout(seconds):
                return await resolve(host, port, self._resolver)
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(f"resolving {host} timed out") from exc
        except (OSError, UnicodeError) as exc:
            raise httpcore2.ConnectError(f"{host} does not resolve") from exc

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore2's backend interface
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise GuardRefusedError(path, "unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
