"""Progress streams: one poller per job per server process, shared by all its subscribers.

A poller compares one integer (the job's state_version) every ``interval`` seconds and reads
the job only when it changed, so the database load of the SSE path does not grow with the
number of subscribers. It holds no database connection between polls. It stops when its last
subscriber leaves or the job reaches a terminal state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from docspasta.metrics import Metrics
from docspasta.store import JobRecord, Store

log = logging.getLogger(__name__)


class JobWatch:
    """The latest known state of one job, and the subscribers waiting for a newer one."""

    def __init__(self, hub: StreamHub, job_id: str) -> None:
        self._hub = hub
        self.job_id = job_id
        self.latest: JobRecord | None = None
        self.gone = False
        self.subscribers = 0
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll(), name=f"sse-poller-{self.job_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _poll(self) -> None:
        store, metrics, interval = self._hub.store, self._hub.metrics, self._hub.interval
        while not self._hub.closed:
            try:
                metrics.sse_db_queries.inc()
                version = await store.state_version(self.job_id)
                job = None
                if version is not None and (
                    self.latest is None or version != self.latest.state_version
                ):
                    metrics.sse_db_queries.inc()
                    job = await store.get_job(self.job_id)
            except Exception:
                log.exception("progress poll of job %s failed; retrying", self.job_id)
                await asyncio.sleep(interval)
                continue
            if version is None:
                await self._publish(None, gone=True)
                return
            if job is not None:
                await self._publish(job)
                if job.status.is_terminal:
                    return
            await asyncio.sleep(interval)

    async def _publish(self, job: JobRecord | None, *, gone: bool = False) -> None:
        async with self._changed:
            if job is not None:
                self.latest = job
            self.gone = gone
            self._changed.notify_all()

    async def wake(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def next_state(self, seen: int) -> JobRecord | None:
        """The job once its state is newer than ``seen`` — or final, whatever ``seen`` says.
        None when the job disappeared or the server is closing."""

        def ready() -> bool:
            if self._hub.closed or self.gone:
                return True
            job = self.latest
            return job is not None and (job.state_version > seen or job.status.is_terminal)

        async with self._changed:
            await self._changed.wait_for(ready)
            if self._hub.closed or self.gone:
                return None
            return self.latest


class StreamHub:
    """All pollers of one server process."""

    def __init__(self, store: Store, metrics: Metrics, *, interval: float = 1.0) -> None:
        self.store = store
        self.metrics = metrics
        self.interval = interval
        self.closed = False
        self._watches: dict[str, JobWatch] = {}

    @contextlib.asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[JobWatch]:
        watch = self._watches.get(job_id)
        if watch is None:
            watch = JobWatch(self, job_id)
            self._watches[job_id] = watch
            watch.start()
        watch.subscribers += 1
        self.metrics.sse_subscribers.inc()
        try:
            yield watch
        finally:
            watch.subscribers -= 1
            self.metrics.sse_subscribers.dec()
            if watch.subscribers == 0 and self._watches.get(job_id) is watch:
                del self._watches[job_id]
                await watch.stop()

    @property
    def pollers(self) -> int:
        return len(self._watches)

    async def close(self) -> None:
        """End every open stream now (server shutdown)."""
        self.closed = True
        for watch in list(self._watches.values()):
            await watch.wake()
