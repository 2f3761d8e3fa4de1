"""The ``local`` backend: in-process asyncio workers with bounded concurrency.

Nothing survives the process: on start the worker's sweeper re-publishes pending work from the
database, which is what makes ``docspasta crawl --resume`` work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from docspasta.domain import Task
from docspasta.queue import TaskHandler

log = logging.getLogger(__name__)


class LocalQueue:
    """An asyncio queue consumed by ``concurrency`` tasks; duplicate keys are dropped while queued
    or running."""

    def __init__(self, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._concurrency = concurrency
        self._queue: asyncio.Queue[Task] = asyncio.Queue()
        self._keys: set[str] = set()
        self._consumers: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def publish(self, tasks: Sequence[Task], *, delay: float = 0.0) -> None:
        for task in tasks:
            if delay > 0:
                handle = asyncio.get_running_loop().call_later(delay, self._put, task)
                self._timers.add(handle)
            else:
                self._put(task)

    def _put(self, task: Task) -> None:
        key = task.dedupe_key
        if key in self._keys:
            return
        self._keys.add(key)
        self._idle.clear()
        self._queue.put_nowait(task)

    async def start(self, handler: TaskHandler) -> None:
        if self._consumers:
            raise RuntimeError("the queue is already consuming")
        self._consumers = [
            asyncio.create_task(self._consume(handler), name=f"docspasta-worker-{i}")
            for i in range(self._concurrency)
        ]

    async def _consume(self, handler: TaskHandler) -> None:
        while True:
            task = await self._queue.get()
            self._busy += 1
            try:
                await handler(task)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("task %s failed; the sweeper will retry it", task.dedupe_key)
            finally:
                self._busy -= 1
                self._keys.discard(task.dedupe_key)
                self._queue.task_done()
                if self._queue.empty() and self._busy == 0:
                    self._idle.set()

    @property
    def depth(self) -> int:
        """Tasks waiting (not running)."""
        return self._queue.qsize()

    async def wait_idle(self) -> None:
        """Wait until nothing is queued or running (drain mode for tests)."""
        await self._idle.wait()

    async def stop(self, grace: float = 0.0) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        if grace > 0 and self._busy:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await self._idle.wait()
        for consumer in self._consumers:
            consumer.cancel()
        await asyncio.gather(*self._consumers, return_exceptions=True)
        self._consumers = []
