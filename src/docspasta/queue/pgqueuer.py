"""The ``pgqueuer`` backend: tasks in the job database's own PostgreSQL, consumed by any number of
``docspasta worker`` processes on any number of machines.

- Transactional enqueue: ``enqueue_in_transaction`` wraps the open SQLAlchemy transaction's
  asyncpg connection in pgqueuer's driver, so a task is committed together with the rows it
  refers to (or not at all). Duplicates are skipped (``on_conflict="skip"``): the default would
  raise and abort the whole transaction.
- A task's dedupe key (``Task.dedupe_key``) keeps it queued once while it waits or runs.
- A consumer that dies stops heartbeating; after ``heartbeat_timeout`` another picks its task.
- A handler that raises is retried by pgqueuer with exponential backoff, a bounded number of
  times; the sweeper recovers anything beyond (the database is the source of truth).

pgqueuer's tables are installed by our Alembic migrations (``0006_pgqueuer``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from docspasta.domain import Task
from docspasta.errors import BackendUnavailableError
from docspasta.queue import TaskHandler
from docspasta.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger(__name__)

ENTRYPOINT = "docspasta"


def _pgqueuer() -> Any:
    try:
        import pgqueuer
    except ImportError as exc:
        raise BackendUnavailableError("pgqueuer", "pgqueuer") from exc
    return pgqueuer


def install_sql() -> str:
    """pgqueuer's schema DDL (tables, types, indexes, notify trigger), for our migrations."""
    from pgqueuer.adapters.persistence.qb import QueryBuilderEnvironment

    return QueryBuilderEnvironment().build_install_query(create_schema=False)


def uninstall_sql() -> str:
    from pgqueuer.adapters.persistence.qb import QueryBuilderEnvironment

    return QueryBuilderEnvironment().build_uninstall_query()


def _asyncpg_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _enqueue(queries: Any, tasks: Sequence[Task], delay: float) -> None:
    if not tasks:
        return
    after = timedelta(seconds=delay) if delay > 0 else None
    await queries.enqueue(
        [ENTRYPOINT] * len(tasks),
        [task.model_dump_json().encode() for task in tasks],
        [0] * len(tasks),
        [after] * len(tasks),
        [task.dedupe_key for task in tasks],
        on_conflict="skip",
    )


def _report_crash(runner: asyncio.Task[None]) -> None:
    if not runner.cancelled() and runner.exception() is not None:
        log.error("the pgqueuer consumer stopped", exc_info=runner.exception())


class PgQueuerQueue:
    """Tasks in PostgreSQL through pgqueuer (see the module docstring)."""

    def __init__(self, settings: Settings, *, concurrency: int) -> None:
        if not settings.database_url.startswith("postgresql"):
            from docspasta.errors import InvalidOptionError

            raise InvalidOptionError(
                "queue", "the pgqueuer backend needs a PostgreSQL database (DOCSPASTA_DATABASE_URL)"
            )
        self._pg = _pgqueuer()
        self._dsn = _asyncpg_dsn(settings.database_url)
        self._concurrency = max(1, concurrency)
        self._heartbeat = timedelta(seconds=settings.pgqueuer_heartbeat_seconds)
        self._max_attempts = settings.max_page_attempts
        self._publisher: Any = None
        self._consumer_connection: Any = None
        self._manager: Any = None
        self._runner: asyncio.Task[None] | None = None
        self._running = 0
        self._stopping = False

    @property
    def depth(self) -> int:
        return 0  # tasks wait in PostgreSQL, not in this process

    async def enqueue_in_transaction(
        self, conn: AsyncConnection, tasks: Sequence[Task], delay: float = 0.0
    ) -> None:
        """Enqueue inside ``conn``'s open transaction: committed with it, or not at all."""
        raw = await conn.get_raw_connection()
        connection = raw.driver_connection
        assert connection is not None
        if not connection.is_in_transaction():
            # SQLAlchemy's asyncpg adapter begins the database transaction at its first
            # statement; enqueue before that would autocommit, outside the transaction.
            await conn.execute(text("SELECT 1"))
        driver = self._pg.AsyncpgDriver(connection)
        await _enqueue(self._pg.Queries(driver), tasks, delay)

    async def publish(self, tasks: Sequence[Task], *, delay: float = 0.0) -> None:
        """Enqueue outside any transaction (the sweeper's re-dispatches)."""
        if not tasks:
            return
        import asyncpg

        for attempt in (1, 2):
            if self._publisher is None or self._publisher.is_closed():
                self._publisher = await asyncpg.connect(self._dsn)
            try:
                queries = self._pg.Queries(self._pg.AsyncpgDriver(self._publisher))
                await _enqueue(queries, tasks, delay)
                return
            except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
                self._publisher = None  # a lost connection: reconnect once
                if attempt == 2:
                    raise

    async def start(self, handler: TaskHandler) -> None:
        self._stopping = False
        self._runner = asyncio.create_task(self._supervise(handler), name="docspasta-pgqueuer")
        self._runner.add_done_callback(_report_crash)

    async def _supervise(self, handler: TaskHandler) -> None:
        """Consume until stopped; when the database connection is lost (a restart, a
        terminated backend), reconnect with backoff and consume again."""
        backoff = 0.5
        while not self._stopping:
            started = asyncio.get_running_loop().time()
            try:
                await self._consume(handler)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._stopping:
                    return
                log.warning("pgqueuer consumer lost its connection (%s); reconnecting", exc)
            finally:
                await self._close_consumer()
            if self._stopping:
                return
            if asyncio.get_running_loop().time() - started > 30:
                backoff = 0.5
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

    async def _consume(self, handler: TaskHandler) -> None:
        import asyncpg

        pg = self._pg
        self._consumer_connection = await asyncpg.connect(self._dsn)
        manager = pg.QueueManager(pg.Queries(pg.AsyncpgDriver(self._consumer_connection)))
        max_attempts = self._max_attempts

        def executor(parameters: Any) -> Any:
            return pg.DatabaseRetryEntrypointExecutor(
                parameters, max_attempts=max_attempts, initial_delay=timedelta(seconds=1)
            )

        async def run_task(job: Any) -> None:
            task = Task.model_validate_json(job.payload)
            self._running += 1
            try:
                await handler(task)
            finally:
                self._running -= 1

        manager.entrypoint(ENTRYPOINT, executor_factory=executor)(run_task)
        self._manager = manager
        await manager.run(
            # pgqueuer wants at least two batches of room; a batch is at most half of it.
            batch_size=max(1, self._concurrency // 2),
            max_concurrent_tasks=max(2, self._concurrency),
            heartbeat_timeout=self._heartbeat,
            dequeue_timeout=timedelta(seconds=5),
        )

    async def _close_consumer(self) -> None:
        connection, self._consumer_connection = self._consumer_connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def stop(self, grace: float = 0.0) -> None:
        """Stop claiming; let running tasks finish for ``grace`` seconds, then cancel them (their
        pages' leases are released by the worker and the heartbeat lapses)."""
        self._stopping = True
        if self._manager is not None:
            self._manager.shutdown.set()
        if self._runner is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._runner), timeout=max(grace, 0.1))
            if not self._runner.done():
                self._runner.cancel()
                await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None
        await self._close_consumer()
        if self._publisher is not None:
            with contextlib.suppress(Exception):
                await self._publisher.close()
            self._publisher = None
