"""The queue: publishing task messages and consuming them.

A message is a hint (contract 1): it may arrive twice, late, or never; handlers check the
database and the sweeper re-publishes lost work. Backends are chosen in one place,
``create_queue``; ``local`` (in-process asyncio workers) is the default.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from docspasta.domain import Task
from docspasta.settings import Settings

TaskHandler = Callable[[Task], Awaitable[None]]


class Queue(Protocol):
    """A task queue backend.

    ``publish`` is called after the transaction that created the work committed; it must not
    raise for a duplicate (a task whose dedupe key is already queued is dropped). ``start``
    begins consuming with ``handler``; a handler that raises loses nothing (the sweeper
    recovers the work) and the backend logs it. ``stop`` stops claiming new tasks and waits
    for running ones up to ``grace`` seconds, then cancels them.
    """

    async def publish(self, tasks: Sequence[Task], *, delay: float = 0.0) -> None: ...

    async def start(self, handler: TaskHandler) -> None: ...

    async def stop(self, grace: float = 0.0) -> None: ...

    @property
    def depth(self) -> int:
        """Tasks waiting in this process (0 for a backend that keeps them elsewhere)."""
        ...


def create_queue(settings: Settings, *, concurrency: int) -> Queue:
    """The queue backend named in configuration (``DOCSPASTA_QUEUE``)."""
    if settings.queue == "local":
        from docspasta.queue.local import LocalQueue

        return LocalQueue(concurrency=concurrency)
    if settings.queue == "pgqueuer":
        from docspasta.queue.pgqueuer import PgQueuerQueue

        return PgQueuerQueue(settings, concurrency=concurrency)
    from docspasta.queue.qstash import QStashQueue

    return QStashQueue.from_settings(settings)


__all__ = ["Queue", "TaskHandler", "create_queue"]
