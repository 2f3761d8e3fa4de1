"""Run jobs in this process: the embedded default (SQLite + in-process ``local`` workers).

The CLI (and later the Python API) use this; it runs the same pipeline as the service: a job
row, a start-crawl task, page tasks, one finalize.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from docspasta.analysis import Analyzer
from docspasta.core.fidelity import Fidelity
from docspasta.core.renderings import Format, Rendering, document_title, render
from docspasta.domain import CrawlOptions, ProgressSnapshot
from docspasta.errors import BlockedURLError, InvalidOptionError, JobNotFoundError
from docspasta.fetch import FetchConfig, Fetcher, check_url
from docspasta.queue import Queue, create_queue
from docspasta.queue.local import LocalQueue
from docspasta.settings import Settings, ensure_sqlite_directory
from docspasta.store import JobRecord, Store
from docspasta.worker import Worker, consuming, running_worker

#: The user every local (CLI) job belongs to.
LOCAL_USER = "local"
#: How often a local run reads its job's state to report progress (each read is two queries).
POLL_SECONDS = 0.1
#: ... and with no progress to report: only an end this process's worker did not see (a
#: cancel from another process) waits for it.
QUIET_POLL_SECONDS = 1.0

ProgressCallback = Callable[[ProgressSnapshot], None]


def fetch_config(settings: Settings) -> FetchConfig:
    return FetchConfig(
        allow_private_hosts=settings.allow_private_hosts,
        user_agent=settings.user_agent,
        max_retry_after=settings.max_retry_after_seconds,
    )


async def validate_request(url: str, options: CrawlOptions, settings: Settings) -> None:
    """Everything a door checks before creating a job: the page cap and the network guard."""
    if options.max_pages > settings.max_pages_cap:
        raise InvalidOptionError(
            "max_pages", f"{options.max_pages} is above the configured cap {settings.max_pages_cap}"
        )
    try:
        async with asyncio.timeout(settings.resolve_timeout_seconds):
            await check_url(url, fetch_config(settings))
    except TimeoutError:
        raise BlockedURLError(
            url, f"host did not resolve within {settings.resolve_timeout_seconds:g} s"
        ) from None


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    ensure_sqlite_directory(settings.database_url)
    store = await Store.open(settings.database_url)
    try:
        yield store
    finally:
        await store.close()


@dataclass(frozen=True)
class JobRun:
    job: JobRecord
    #: The finished document, when asked for (``run_job(..., markdown=True)``) and there is one.
    markdown: str | None
    failed_pages: list[tuple[str, str]]
    fidelity_warnings: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    """(url, what its markdown lost) for completed pages whose fidelity record shows a loss."""


async def create_job(store: Store, url: str, options: CrawlOptions, settings: Settings) -> str:
    """Validate and create a pending job; nothing is created when validation fails."""
    await validate_request(url, options, settings)
    job, _tasks = await store.create_job(LOCAL_USER, url, options)
    return job.id


async def run_job(
    store: Store,
    job_id: str,
    settings: Settings,
    *,
    on_progress: ProgressCallback | None = None,
    markdown: bool = True,
    analyzer: Analyzer | None = None,
) -> JobRun:
    """Run a job (new or interrupted) to its end with in-process workers; ``markdown=False``
    leaves the document in the store (``Store.iter_final_markdown`` streams it). ``analyzer``:
    analysis workers the caller started (and closes); else the run starts its own.

    Work is dispatched from the database, not from memory: pending pages, expired leases, a
    pending start or a stranded finalize are all picked up, which is what resuming means.
    """
    job = await store.get_job(job_id, LOCAL_USER)
    if job is None:
        raise JobNotFoundError(job_id)
    queue = LocalQueue(concurrency=job.options.concurrency)
    async with (
        Fetcher(fetch_config(settings)) as fetcher,
        (
            Analyzer(settings.analysis_processes)
            if analyzer is None
            else contextlib.nullcontext(analyzer)
        ) as analysis,
        running_worker(store, fetcher, queue, settings, analyzer=analysis) as worker,
    ):
        await worker.sweep(older_than=0.0, job_id=job_id)
        await _wait_for_end(store, job_id, on_progress, worker.job_ended)
    final = await store.get_job(job_id)
    assert final is not None
    warnings = [
        (url, Fidelity(**record).losses()) for url, record in await store.fidelity_records(job_id)
    ]
    return JobRun(
        job=final,
        markdown=await store.final_markdown(job_id) if markdown else None,
        failed_pages=await store.failed_pages(job_id),
        fidelity_warnings=[(url, lost) for url, lost in warnings if lost],
    )


async def render_job(
    store: Store,
    job: JobRecord,
    format: Format,
    *,
    max_tokens: int | None = None,
    stem: str = "document",
) -> Rendering:
    """A rendering of a finished job's stored pages, rendered in a thread (CPU work: it must
    not stall the event loop). Raises ``ValueError`` when ``max_tokens`` cannot be honoured."""
    pages = await store.render_pages(job.id)
    return await asyncio.to_thread(
        render,
        format,
        document_title(job.title, job.url),
        job.url,
        pages,
        encoding=job.options.token_encoding,
        max_tokens=max_tokens,
        stem=stem,
    )


async def _wait_for_end(
    store: Store,
    job_id: str,
    on_progress: ProgressCallback | None,
    ended: asyncio.Event,
) -> None:
    """Report progress until the job ends: the state is read every :data:`POLL_SECONDS`
    (:data:`QUIET_POLL_SECONDS` without ``on_progress``), and at once when ``ended`` (the local
    worker's) is set."""
    poll = POLL_SECONDS if on_progress is not None else QUIET_POLL_SECONDS
    seen = 0
    while True:
        ended.clear()
        version = await store.state_version(job_id)
        if version is None:
            raise JobNotFoundError(job_id)
        if version != seen:
            seen = version
            snapshot = await store.snapshot(job_id)
            assert snapshot is not None
            if on_progress is not None:
                on_progress(snapshot)
            if snapshot.status.is_terminal:
                return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ended.wait(), poll)


__all__ = [
    "LOCAL_USER",
    "JobRun",
    "Worker",
    "create_job",
    "open_store",
    "render_job",
    "run_job",
]


def bind_queue(store: Store, queue: Queue) -> None:
    """With a queue in the job database (pgqueuer), tasks are enqueued in the transaction that
    creates their work; the others publish after commit."""
    from docspasta.queue.pgqueuer import PgQueuerQueue

    if isinstance(queue, PgQueuerQueue):
        store.use_outbox(queue.enqueue_in_transaction)


async def run_worker(
    settings: Settings, *, concurrency: int, grace: float, stop: asyncio.Event
) -> None:
    """``docspasta worker``: consume the shared queue until ``stop`` is set, then stop claiming,
    give running tasks ``grace`` seconds, and release the leases of what is left."""
    async with open_store(settings) as store:
        queue = create_queue(settings, concurrency=concurrency)
        bind_queue(store, queue)
        async with (
            Fetcher(fetch_config(settings)) as fetcher,
            Analyzer(settings.analysis_processes) as analyzer,
        ):
            worker = Worker(store, fetcher, queue, settings, analyzer=analyzer)
            async with consuming(worker, grace=grace):
                await worker.sweep(older_than=settings.sweep_interval_seconds)
                await stop.wait()
