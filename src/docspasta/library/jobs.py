"""The store-facing half of the Python API (the MCP server uses it too, with one open store).

Crawls run through ``docspasta.runtime``: a job row as the CLI creates it (user ``local``),
the same guard and page cap at the door, in-process workers, one finalize. Nothing here
crawls on its own.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import suppress
from urllib.parse import urlsplit

from pydantic import ValidationError

from docspasta.core.tokens import count_tokens
from docspasta.core.urls import normalize_url
from docspasta.domain import CrawlOptions, JobStatus, PageStatus, ProgressSnapshot
from docspasta.errors import InvalidOptionError, JobFailedError, JobNotFoundError
from docspasta.library.document import Document, Page
from docspasta.runtime import LOCAL_USER, create_job, run_job
from docspasta.settings import Settings
from docspasta.store import JobRecord, Store

#: A progress callback: called with each new state of the job; may be a coroutine function.
ProgressCallback = Callable[[ProgressSnapshot], Awaitable[None] | None]

#: Job states whose document exists and may be reused.
FINISHED = frozenset({JobStatus.COMPLETED, JobStatus.PARTIAL_SUCCESS})
_SCAN_BATCH = 200


def build_settings(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    allow_private_hosts: Iterable[str] = (),
) -> Settings:
    """``settings`` (default: from ``DOCSPASTA_*`` variables, as the CLI reads them) with a
    database URL and extra hosts the network guard lets through, like the CLI's flags."""
    base = settings if settings is not None else Settings()
    updates: dict[str, object] = {}
    if database_url:
        updates["database_url"] = database_url
    hosts = {h.strip().lower() for h in allow_private_hosts if h.strip()}
    if hosts:
        updates["allow_private_hosts"] = base.allow_private_hosts | hosts
    return base.model_copy(update=updates) if updates else base


def crawl_options(options: CrawlOptions | None, values: Mapping[str, object]) -> CrawlOptions:
    """One ``CrawlOptions`` from a base object and keyword values (snake_case or camelCase).

    Raises ``InvalidOptionError`` naming the first bad field.
    """
    try:
        if options is None:
            return CrawlOptions.model_validate(dict(values))
        if not values:
            return options
        return CrawlOptions.model_validate(options.model_dump() | dict(values))
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "options"
        raise InvalidOptionError(field, error["msg"]) from None


def same_site(a: str, b: str) -> bool:
    """Whether two start URLs name the same crawl (compared in normalised form)."""
    return (normalize_url(a) or a) == (normalize_url(b) or b)


async def finished_jobs(store: Store, url: str | None = None) -> list[JobRecord]:
    """The local user's finished crawls (a document exists), newest first; of ``url`` only
    when given."""
    found: list[JobRecord] = []
    before = None
    while True:
        batch = await store.list_jobs(LOCAL_USER, limit=_SCAN_BATCH, before=before)
        found += [
            job
            for job in batch
            if job.status in FINISHED and (url is None or same_site(job.url, url))
        ]
        if len(batch) < _SCAN_BATCH:
            return found
        before = (batch[-1].created_at, batch[-1].id)


async def reusable_job(store: Store, url: str, options: CrawlOptions) -> JobRecord | None:
    """The newest finished crawl of the same start URL with the same options, if any."""
    return next((j for j in await finished_jobs(store, url) if j.options == options), None)


async def load_document(store: Store, job_id: str, *, reused: bool = False) -> Document:
    """The document of a finished job with its pages.

    Raises ``JobNotFoundError`` (no such local job) or ``JobFailedError`` (it failed, was
    cancelled before any document, or is still running).
    """
    job = await store.get_job(job_id, LOCAL_USER)
    if job is None:
        raise JobNotFoundError(job_id)
    markdown = await store.final_markdown(job_id, LOCAL_USER)
    if markdown is None:
        reason = job.status_message or f"the job is {job.status.value}: it has no document"
        raise JobFailedError(job_id, reason)
    chunks: dict[int, list[str]] = {}
    async for page_id, _url, _title, chunk in store.iter_page_content(job_id):
        chunks.setdefault(page_id, []).append(chunk)
    records = [p for p in await store.pages(job_id, LOCAL_USER) if p.status is PageStatus.COMPLETED]
    pages = tuple(
        Page(
            index=index,
            url=record.url,
            title=record.title or record.url,
            markdown="".join(chunks.get(record.id, ())),
            tokens=record.token_count,
            words=record.word_count,
        )
        for index, record in enumerate(records, start=1)
    )
    return Document(
        job_id=job.id,
        url=job.url,
        title=job.title or urlsplit(job.url).netloc,
        status=job.status,
        options=job.options,
        markdown=markdown,
        tokens=count_tokens(markdown, job.options.token_encoding),
        words=job.total_words,
        pages=pages,
        failed_pages=tuple(await store.failed_pages(job_id)),
        created_at=job.created_at,
        completed_at=job.completed_at,
        reused=reused,
    )


async def run_crawl(
    store: Store,
    url: str,
    options: CrawlOptions,
    settings: Settings,
    *,
    on_progress: ProgressCallback | None = None,
    reuse: bool = False,
) -> Document:
    """Crawl ``url`` (or, with ``reuse``, take the newest finished crawl of the same URL and
    options from the store) and return its document.

    The URL passes the CLI's checks first (page cap, network guard): ``InvalidOptionError`` /
    ``BlockedURLError`` before anything is created. A failed job raises ``JobFailedError``.
    """
    if reuse:
        cached = await reusable_job(store, url, options)
        if cached is not None:
            return await load_document(store, cached.id, reused=True)
    job_id = await create_job(store, url, options, settings)
    async with _ProgressPump(on_progress) as pump:
        run = await run_job(store, job_id, settings, on_progress=pump.send)
    if run.job.status is JobStatus.FAILED or run.markdown is None:
        raise JobFailedError(job_id, run.job.status_message or run.job.status.value)
    return await load_document(store, job_id)


class _ProgressPump:
    """Hands snapshots from the runtime's synchronous callback to a user callback, which may
    be a coroutine function: those are awaited one at a time, in order, on a task."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.queue: asyncio.Queue[ProgressSnapshot | None] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> _ProgressPump:
        if self.callback is not None:
            self.task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.task is None:
            return
        self.queue.put_nowait(None)
        if exc_info[0] is None:
            await self.task
        else:
            self.task.cancel()
            with suppress(asyncio.CancelledError):
                await self.task

    def send(self, snapshot: ProgressSnapshot) -> None:
        if self.task is not None:
            self.queue.put_nowait(snapshot)

    async def _run(self) -> None:
        assert self.callback is not None
        while (snapshot := await self.queue.get()) is not None:
            result = self.callback(snapshot)
            if inspect.isawaitable(result):
                await result
