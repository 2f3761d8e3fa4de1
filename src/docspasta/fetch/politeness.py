"""Politeness: how often and how many at once the fetcher talks to one host.

:class:`HostThrottle` gives each host (``host:port``) a connection limit and a minimum delay
between the starts of two requests; robots.txt's ``Crawl-delay`` raises that delay; a 429 or
503 answer's ``Retry-After`` pauses the host. Request starts are reserved in order under a lock,
so concurrent callers are spaced out instead of all waking at once. Everything is per process:
several worker processes each keep their own throttle.

:func:`parse_retry_after` reads a Retry-After value (delay-seconds or HTTP-date).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: Longest pause a Retry-After may impose on a host (a longer one fails the page instead).
MAX_RETRY_AFTER = 300.0


@dataclass(frozen=True)
class Politeness:
    """How gently one host is treated: at most ``max_connections`` requests at once, and
    request starts at least ``min_delay`` seconds apart (``crawl_delay`` when larger)."""

    max_connections: int = 2
    min_delay: float = 0.25
    crawl_delay: float | None = None

    @property
    def delay(self) -> float:
        return max(self.min_delay, self.crawl_delay or 0.0)


@dataclass
class _Host:
    condition: asyncio.Condition = field(default_factory=asyncio.Condition)
    active: int = 0
    next_start: float = 0.0
    paused_until: float = 0.0


class HostThrottle:
    """Per-host connection limits and spacing; ``slot`` is safe to use concurrently."""

    def __init__(self) -> None:
        self._hosts: dict[str, _Host] = {}

    def _host(self, key: str) -> _Host:
        state = self._hosts.get(key)
        if state is None:
            state = self._hosts[key] = _Host()
        return state

    @asynccontextmanager
    async def slot(self, key: str, politeness: Politeness | None) -> AsyncIterator[None]:
        """Wait for the host's turn, then hold one of its connections for the block.

        ``politeness=None`` (``--no-politeness``) waits for nothing but a Retry-After pause.
        """
        state = self._host(key)
        if politeness is None:
            await _sleep_until(state.paused_until)
            yield
            return
        async with state.condition:
            await state.condition.wait_for(lambda: state.active < politeness.max_connections)
            state.active += 1
            start = max(time.monotonic(), state.next_start, state.paused_until)
            state.next_start = start + politeness.delay
        try:
            await _sleep_until(start)
            yield
        finally:
            async with state.condition:
                state.active -= 1
                state.condition.notify_all()

    def pause(self, key: str, seconds: float) -> None:
        """No new request to the host for ``seconds`` (a Retry-After answer)."""
        state = self._host(key)
        state.paused_until = max(state.paused_until, time.monotonic() + seconds)


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delay-seconds (``"120"``) or an HTTP-date
    (``"Wed, 21 Oct 2015 07:28:00 GMT"``). A date in the past gives 0; anything unreadable,
    negative or not finite gives None."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
