"""A DNS answer source and a connection recorder for the SSRF battery.

``FakeDNS`` is a resolver hook for ``FetchConfig(resolver=...)``: each name gets a list of
answers, served in turn (the last one repeats) — a name can resolve public, then private.
``RecordingBackend`` is an httpcore2 network backend for ``FetchConfig(network_backend=...)``:
it records every connection the guard lets through and opens only those to 127.0.0.1 (the
fixture servers); any other address fails at once, so no test packet leaves the machine.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence

import httpcore2

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FakeDNS:
    """Names -> successive answers; records every question."""

    def __init__(self, answers: dict[str, Sequence[Sequence[str]]]) -> None:
        self._answers = {name: [list(a) for a in seq] for name, seq in answers.items()}
        self.questions: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.questions.append(host)
        answers = self._answers.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} not known to the test DNS")
        current = answers.pop(0) if len(answers) > 1 else answers[0]
        return [ipaddress.ip_address(a) for a in current]


class RecordingBackend(httpcore2.AsyncNetworkBackend):
    """Records ``(address, port)`` of every connection attempt; opens loopback ones only."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, int]] = []
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore2's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        self.attempts.append((host, port))
        if host != "127.0.0.1":
            raise httpcore2.ConnectError("the test network routes nothing but 127.0.0.1")
        return await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("no unix sockets in tests")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
