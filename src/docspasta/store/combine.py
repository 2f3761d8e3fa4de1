"""Group commit: per-page writes that arrive while a transaction runs share the next one.

A crawl makes two small write transactions per page (claim, then complete). Each costs a
``BEGIN``/``COMMIT``, a connection checkout and, on SQLite, a hop to the driver's thread per
statement; on PostgreSQL each ``COMMIT`` waits for a WAL flush. :class:`WriteCombiner` runs the
operations queued while one transaction is in flight together in the next, one after the other
on the same connection, in arrival order. Running them in one transaction is equivalent to
running them one by one in that order, so each operation keeps its own guarantees (contract 6
holds per page: its content, status, counters and new pages still commit together).

When an operation raises, the whole batch rolled back; each operation then runs again alone, so
only the failing one sees its error. A caller learns its result only after the commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger(__name__)

T = TypeVar("T")
Operation = Callable[[AsyncConnection], Awaitable[Any]]
Begin = Callable[[], AbstractAsyncContextManager[AsyncConnection]]

#: Operations run in one transaction at most: bounds how long the write lock is held.
MAX_BATCH = 64


class WriteCombiner:
    """Runs write operations in shared transactions, one transaction at a time."""

    def __init__(self, begin: Begin, *, max_batch: int = MAX_BATCH) -> None:
        self._begin = begin
        self._max_batch = max_batch
        self._pending: list[tuple[Operation, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        #: How many transactions and operations ran (for benchmarks and tests).
        self.transactions = 0
        self.operations = 0

    async def run(self, operation: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``operation(conn)`` in a write transaction (possibly shared); its result once
        committed. A caller cancelled before its turn is dropped from the batch."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((operation, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="docspasta-write-combiner")
        return await future

    async def drain(self) -> None:
        """Wait until every queued operation ran (before releasing a worker's leases)."""
        while self._flusher is not None:
            await asyncio.wait({self._flusher})

    async def _flush(self) -> None:
        batch: list[tuple[Operation, asyncio.Future[Any]]] = []
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                batch = [(op, future) for op, future in batch if not future.done()]
                if batch:
                    await self._run_batch(batch)
                batch = []
        finally:
            self._flusher = None
            # Only reached with work left when this task itself was cancelled (loop shutdown).
            for _, future in batch + self._pending:
                future.cancel()
            self._pending = []

    async def _run_batch(self, batch: list[tuple[Operation, asyncio.Future[Any]]]) -> None:
        results: list[Any] = []
        try:
            async with self._begin() as conn:
                for operation, _ in batch:
                    results.append(await operation(conn))
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], error=exc)
                return
            log.debug("a write in a batch of %d failed (%r): running each alone", len(batch), exc)
            for operation, future in batch:
                await self._run_alone(operation, future)
            return
        self.transactions += 1
        self.operations += len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)

    async def _run_alone(self, operation: Operation, future: asyncio.Future[Any]) -> None:
        if future.done():
            return
        try:
            async with self._begin() as conn:
                result = await operation(conn)
        except Exception as exc:
            _settle(future, error=exc)
            return
        self.transactions += 1
        self.operations += 1
        _settle(future, result=result)


def _settle(
    future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None
) -> None:
    if future.done():  # its caller was cancelled meanwhile: the write stands, as after a crash
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
