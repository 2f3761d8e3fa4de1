"""Group commit: per-page writes that arrive while a transaction runs share the next one.

A crawl makes two small write transactions per page (claim, then complete). Each costs a
``BEGIN``/``COMMIT``, a connection checkout and, on SQLite, a hop to the driver's thread per
statement; on PostgreSQL each ``COMMIT`` waits for a WAL flush. :class:`WriteCombiner` runs the
operations queued while one transaction is in flight together in the next, one after the other
on the same connection, in arrival order. Running them in one transaction is equivalent to
running them one by one in that order, so each operation keeps its own guarantees (contract 6
holds per page: its content, status, counters and new pages still commit together).

Operations of one kind can also be *grouped* (:meth:`WriteCombiner.run_grouped`): the batch
hands all of them to their runner at once, at the place of the first, so that one statement does
the work of many (claiming eight pages is one ``UPDATE ... WHERE id IN (...)``). A runner must
give each item the result it would have had run alone after the items before it.

When an operation raises, the whole batch rolled back; each operation then runs again alone, so
only the failing one sees its error. A caller learns its result only after the commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger(__name__)

T = TypeVar("T")
Operation = Callable[[AsyncConnection], Awaitable[Any]]
#: Runs a group's items in order in one transaction; one result per item.
GroupRunner = Callable[[AsyncConnection, Sequence[Any]], Awaitable[Sequence[Any]]]
Begin = Callable[[], AbstractAsyncContextManager[AsyncConnection]]

#: Operations run in one transaction at most: bounds how long the write lock is held.
MAX_BATCH = 64


@dataclass(eq=False)
class _Entry:
    future: asyncio.Future[Any]
    operation: Operation | None = None
    runner: GroupRunner | None = None
    item: Any = None

    async def alone(self, conn: AsyncConnection) -> Any:
        if self.operation is not None:
            return await self.operation(conn)
        assert self.runner is not None
        (result,) = await self.runner(conn, [self.item])
        return result


class WriteCombiner:
    """Runs write operations in shared transactions, one transaction at a time."""

    def __init__(self, begin: Begin, *, max_batch: int = MAX_BATCH) -> None:
        self._begin = begin
        self._max_batch = max_batch
        self._pending: list[_Entry] = []
        self._flusher: asyncio.Task[None] | None = None
        #: How many transactions and operations ran (for benchmarks and tests).
        self.transactions = 0
        self.operations = 0

    async def run(self, operation: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``operation(conn)`` in a write transaction (possibly shared); its result once
        committed. A caller cancelled before its turn is dropped from the batch."""
        return await self._queue(_Entry(self._future(), operation=operation))  # type: ignore[no-any-return]

    async def run_grouped(self, runner: GroupRunner, item: Any) -> Any:
        """Run ``item`` with the other items of ``runner`` queued for the same transaction:
        ``runner(conn, items)`` gets them all, in arrival order."""
        return await self._queue(_Entry(self._future(), runner=runner, item=item))

    @staticmethod
    def _future() -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    async def _queue(self, entry: _Entry) -> Any:
        self._pending.append(entry)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="docspasta-write-combiner")
        return await entry.future

    async def drain(self) -> None:
        """Wait until every queued operation ran (before releasing a worker's leases)."""
        while self._flusher is not None:
            await asyncio.wait({self._flusher})

    async def _flush(self) -> None:
        batch: list[_Entry] = []
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                batch = [entry for entry in batch if not entry.future.done()]
                if batch:
                    await self._run_batch(batch)
                batch = []
        finally:
            self._flusher = None
            # Only reached with work left when this task itself was cancelled (loop shutdown).
            for entry in batch + self._pending:
                entry.future.cancel()
            self._pending = []

    async def _run_batch(self, batch: list[_Entry]) -> None:
        # Each group runs once, where its first item arrived; single operations in between.
        steps: list[list[_Entry]] = []
        groups: dict[GroupRunner, list[_Entry]] = {}
        for entry in batch:
            if entry.runner is None:
                steps.append([entry])
            elif entry.runner in groups:
                groups[entry.runner].append(entry)
            else:
                groups[entry.runner] = [entry]
                steps.append(groups[entry.runner])
        results: list[tuple[_Entry, Any]] = []
        try:
            async with self._begin() as conn:
                for step in steps:
                    first = step[0]
                    if first.runner is None:
                        results.append((first, await first.alone(conn)))
                        continue
                    outs = await first.runner(conn, [entry.item for entry in step])
                    results.extend(zip(step, outs, strict=True))
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0].future, error=exc)
                return
            log.debug("a write in a batch of %d failed (%r): running each alone", len(batch), exc)
            for entry in batch:
                await self._run_alone(entry)
            return
        self.transactions += 1
        self.operations += len(batch)
        for entry, result in results:
            _settle(entry.future, result=result)

    async def _run_alone(self, entry: _Entry) -> None:
        if entry.future.done():
            return
        try:
            async with self._begin() as conn:
                result = await entry.alone(conn)
        except Exception as exc:
            _settle(entry.future, error=exc)
            return
        self.transactions += 1
        self.operations += 1
        _settle(entry.future, result=result)


def _settle(
    future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None
) -> None:
    if future.done():  # its caller was cancelled meanwhile: the write stands, as after a crash
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
