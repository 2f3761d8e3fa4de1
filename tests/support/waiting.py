"""Polling for a condition a test waits on, with a deadline so a test never hangs.

The condition is read from the database (the source of truth), so there is no in-process event
to wait on: polling is the honest way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 20.0) -> None:
    """Return once ``check()`` is true; fail the test after ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            if await check():
                return
            await asyncio.sleep(0.02)
