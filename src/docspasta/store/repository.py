"""Every SQL statement of docspasta: jobs, pages, content chunks, leases.

Contracts (shared/ARCHITECTURE.md):

- The database is the source of truth; each method is safe to call again with the same
  arguments (a claim that is not claimable returns ``None``; a write whose lease was lost
  writes nothing and returns no tasks).
- A page's content, status and the job's counters change in one transaction, with the rows of
  newly discovered pages and the tasks that dispatch them (contract 6).
- ``running -> finalizing`` is one conditional UPDATE; terminal statuses never change (contract 3).
- User-facing reads take ``user_id`` and never see another user's jobs (contract 4).

Methods that create work return the ``Task`` messages to publish once the transaction committed.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Self

from sqlalchemy import Integer, and_, bindparam, exists, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from docspasta.domain import (
    TERMINAL_JOB_STATUSES,
    CrawlOptions,
    JobStatus,
    PageStatus,
    ProgressSnapshot,
    Task,
    TaskKind,
)
from docspasta.store.combine import WriteCombiner
from docspasta.store.engine import Engines, create_engines, upgrade
from docspasta.store.records import JobRecord, NewPage, PageClaim, PageOutcome, PageRecord
from docspasta.store.schema import (
    UTCDateTime,
    crawled_pages,
    crawling_jobs,
    document_chunks,
    page_content_chunks,
    utcnow,
)

#: Enqueues tasks inside an open transaction (see ``JobPageStore.use_outbox``).
Outbox = Callable[[AsyncConnection, Sequence[Task], float], Awaitable[None]]

#: How many running jobs' static data (URL, options, robots.txt) a store instance keeps.
RUNNING_JOB_CACHE = 256
#: Markdown is stored in chunks of at most this many characters, split at line ends.
CHUNK_CHARS = 256 * 1024
#: Rows a streamed read fetches at a time: page content rows are ~10 kB each, and a driver's
#: default buffer (up to 1,000 rows) held megabytes of them at once during finalize.
STREAM_ROWS = 32


@dataclass(frozen=True)
class _LockedJob:
    """What a page write needs of its job (see ``JobPageStore._lock_job``)."""

    id: str
    status: JobStatus
    pages_discovered: int
    options: CrawlOptions


_J = crawling_jobs.c
_P = crawled_pages.c
_C = page_content_chunks.c
_D = document_chunks.c
_OPEN = (PageStatus.PENDING.value, PageStatus.PROCESSING.value)
_TERMINAL = tuple(s.value for s in TERMINAL_JOB_STATUSES)


# -- statements of the per-page hot path, built once ------------------------------------------
# Building a SQLAlchemy statement and its cache key costs more CPU than SQLite takes to run it;
# these run several times per page, so they are built here once with bound parameters (named
# b_*, apart from the column names) and executed with a parameter dict.


def _b(name: str, type_: Any = None) -> Any:
    return bindparam(name, type_=type_)


_CLAIM_PAGES = (
    update(crawled_pages)
    .where(
        _P.id.in_(bindparam("b_pages", expanding=True)),
        _P.job_id == _b("b_job"),
        or_(
            _P.status == PageStatus.PENDING.value,
            and_(
                _P.status == PageStatus.PROCESSING.value,
                _P.lease_expires_at < _b("b_now", UTCDateTime()),
            ),
        ),
        exists().where(_J.id == _b("b_job"), _J.status == JobStatus.RUNNING.value),
    )
    .values(
        status=PageStatus.PROCESSING.value,
        lease_owner=_b("b_owner"),
        lease_expires_at=_b("b_expires", UTCDateTime()),
        attempts=_P.attempts + 1,
        updated_at=_b("b_now", UTCDateTime()),
    )
    .returning(_P.id, _P.url, _P.depth, _P.order_key, _P.attempts, _P.discovered_from)
)
#: The page's columns a completed page sets (``_COMPLETE_PAGE``'s parameters, b_-prefixed).
_COMPLETED_COLUMNS = (
    "title",
    "http_status",
    "final_url",
    "final_url_hash",
    "links",
    "word_count",
    "token_count",
    "generator",
    "quality",
    "fidelity",
    "nav",
    "etag",
    "last_modified",
    "block_keys",
)
_COMPLETE_PAGE = (
    update(crawled_pages)
    .where(
        _P.id == _b("b_page"),
        _P.lease_owner == _b("b_owner"),
        _P.status == PageStatus.PROCESSING.value,
    )
    .values(
        status=PageStatus.COMPLETED.value,
        lease_owner=None,
        lease_expires_at=None,
        updated_at=_b("b_now", UTCDateTime()),
        error=None,
        **{name: _b(f"b_{name}", crawled_pages.c[name].type) for name in _COMPLETED_COLUMNS},
    )
)
#: The leases a group of page writes holds, locked (PostgreSQL) until the transaction ends.
_HELD_LEASES = (
    select(_P.id, _P.lease_owner)
    .where(
        _P.id.in_(bindparam("b_pages", expanding=True)),
        _P.status == PageStatus.PROCESSING.value,
    )
    .with_for_update()
)
_INSERT_CHUNKS = insert(page_content_chunks)
_LOCK_JOB = select(_J.status, _J.pages_discovered).where(_J.id == _b("b_job")).with_for_update()
_KNOWN_PAGES = select(_P.id, _P.url_hash, _P.final_url_hash, _P.depth, _P.status).where(
    _P.job_id == _b("b_job"),
    or_(
        _P.url_hash.in_(bindparam("b_hashes", expanding=True)),
        _P.final_url_hash.in_(bindparam("b_hashes", expanding=True)),
    ),
)
_COUNT_COMPLETED = (
    update(crawling_jobs)
    .where(_J.id == _b("b_job"))
    .values(
        pages_completed=_J.pages_completed + _b("b_pages", Integer()),
        total_words=_J.total_words + _b("b_words", Integer()),
        total_tokens=_J.total_tokens + _b("b_tokens", Integer()),
        updated_at=_b("b_now", UTCDateTime()),
    )
    .returning(
        _J.status, _J.pages_discovered, _J.pages_completed, _J.pages_failed, _J.pages_skipped
    )
)
_COUNT_DISCOVERED = (
    update(crawling_jobs)
    .where(_J.id == _b("b_job"))
    .values(pages_discovered=_J.pages_discovered + _b("b_inserted", Integer()))
)
_MAYBE_FINALIZE = (
    update(crawling_jobs)
    .where(
        _J.id == _b("b_job"),
        _J.status == JobStatus.RUNNING.value,
        ~exists().where(_P.job_id == _b("b_job"), _P.status.in_(_OPEN)),
    )
    .values(
        status=JobStatus.FINALIZING.value,
        lease_owner=None,
        lease_expires_at=None,
        updated_at=_b("b_now", UTCDateTime()),
    )
    .returning(_J.id)
)


@dataclass(frozen=True)
class _Completion:
    """One page write of a group (``JobPageStore._complete_pages``)."""

    claim: PageClaim
    outcome: PageOutcome
    new_pages: Sequence[NewPage]


def _completed_values(claim: PageClaim, outcome: PageOutcome, now: Any) -> dict[str, Any]:
    """``_COMPLETE_PAGE``'s parameters for one page."""
    return {
        "b_page": claim.id,
        "b_owner": claim.worker_id,
        "b_now": now,
        "b_title": outcome.title,
        "b_http_status": outcome.http_status,
        "b_final_url": outcome.final_url,
        "b_final_url_hash": outcome.final_url_hash,
        "b_links": list(outcome.links),
        "b_word_count": outcome.word_count,
        "b_token_count": outcome.token_count,
        "b_generator": outcome.generator,
        "b_quality": outcome.quality,
        "b_fidelity": dict(outcome.fidelity) if outcome.fidelity is not None else None,
        "b_nav": dict(outcome.nav) if outcome.nav is not None else None,
        "b_etag": outcome.etag,
        "b_last_modified": outcome.last_modified,
        "b_block_keys": outcome.block_keys,
    }


def split_chunks(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Split ``text`` into pieces of at most ``size`` characters, preferring line ends."""
    chunks: list[str] = []
    while len(text) > size:
        cut = text.rfind("\n", 0, size) + 1 or size
        chunks.append(text[:cut])
        text = text[cut:]
    chunks.append(text)
    return chunks


@dataclass
class PageWrite:
    """What a page write produced: tasks to publish and pages whose links need expanding again."""

    tasks: list[Task] = field(default_factory=list)
    reexpand: list[PageRecord] = field(default_factory=list)
    written: bool = True


class JobPageStore:
    """Jobs and pages: creation, claims, page writes. ``Store`` adds finalisation and recovery."""

    def __init__(self, engines: Engines) -> None:
        self._engines = engines
        self._outbox: Outbox | None = None
        #: Claims and page writes share transactions (group commit: ``store.combine``).
        self._combined = WriteCombiner(self._engines.pages.begin)
        #: Running jobs as first claimed: a page claim needs the job's URL, options and
        #: robots.txt, which never change once the job runs.
        self._running_jobs: dict[str, JobRecord] = {}
        #: Each job's options, parsed once (they never change after creation).
        self._options: dict[str, CrawlOptions] = {}

    @classmethod
    async def open(cls, database_url: str, *, migrate: bool = True) -> Self:
        engines = create_engines(database_url)
        if migrate:
            await upgrade(engines)
        return cls(engines)

    def use_outbox(self, outbox: Outbox) -> None:
        """Enqueue every task inside the transaction that creates its work (pgqueuer). Methods
        then return no tasks to publish: they are committed with the rows, or not at all."""
        self._outbox = outbox

    async def _emit(
        self, conn: AsyncConnection, tasks: Sequence[Task], delay: float = 0.0
    ) -> list[Task]:
        """The tasks a write creates: into the outbox, in this transaction, when there is one;
        else back to the caller to publish after commit."""
        if self._outbox is None or not tasks:
            return list(tasks)
        await self._outbox(conn, tasks, delay)
        return []

    @property
    def engines(self) -> Engines:
        return self._engines

    async def close(self) -> None:
        await self._combined.drain()
        await self._engines.dispose()

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        async with self._engines.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self._engines.reader.connect() as conn:
            yield conn

    def _insert(self, table: Any) -> Any:
        dialect = postgresql if self._engines.dialect == "postgresql" else sqlite
        return dialect.insert(table)

    # -- jobs ---------------------------------------------------------------------------------

    async def create_job(
        self, user_id: str, url: str, options: CrawlOptions
    ) -> tuple[JobRecord, list[Task]]:
        """Create a pending job; returns it with the start-crawl task to publish."""
        now = utcnow()
        job_id = str(uuid.uuid4())
        async with self._write() as conn:
            await conn.execute(
                insert(crawling_jobs).values(
                    id=job_id,
                    user_id=user_id,
                    url=url,
                    options=options.model_dump(mode="json"),
                    status=JobStatus.PENDING.value,
                    created_at=now,
                    updated_at=now,
                )
            )
            job = await self._job(conn, job_id)
            tasks = await self._emit(conn, [Task(kind=TaskKind.START_CRAWL, job_id=job_id)])
        assert job is not None
        return job, tasks

    async def _job(
        self, conn: AsyncConnection, job_id: str, user_id: str | None = None
    ) -> JobRecord | None:
        query = select(crawling_jobs).where(_J.id == job_id)
        if user_id is not None:
            query = query.where(_J.user_id == user_id)
        row = (await conn.execute(query)).mappings().first()
        return JobRecord.from_row(row) if row else None

    async def get_job(self, job_id: str, user_id: str | None = None) -> JobRecord | None:
        """The job, or None when it does not exist or (with ``user_id``) is not the user's."""
        async with self._read() as conn:
            return await self._job(conn, job_id, user_id)

    async def snapshot(self, job_id: str, user_id: str | None = None) -> ProgressSnapshot | None:
        job = await self.get_job(job_id, user_id)
        return job.snapshot() if job else None

    async def state_version(self, job_id: str, user_id: str | None = None) -> int | None:
        """The one integer a progress poller compares."""
        query = select(_J.state_version).where(_J.id == job_id)
        if user_id is not None:
            query = query.where(_J.user_id == user_id)
        async with self._read() as conn:
            return (await conn.execute(query)).scalar_one_or_none()

    async def final_markdown(self, job_id: str, user_id: str | None = None) -> str | None:
        """The finished document as one string (None: no document, or not the user's job).
        Prefer :meth:`iter_final_markdown` for large documents."""
        parts = [part async for part in self.iter_final_markdown(job_id, user_id)]
        return "".join(parts) if parts else None

    async def iter_final_markdown(
        self, job_id: str, user_id: str | None = None
    ) -> AsyncIterator[str]:
        """The finished document chunk by chunk (nothing for a job without one), one short
        query per chunk: no connection is held while the caller writes a chunk out."""
        query = select(_J.document_generation).where(_J.id == job_id)
        if user_id is not None:
            query = query.where(_J.user_id == user_id)
        async with self._read() as conn:
            generation = (await conn.execute(query)).scalar_one_or_none()
        if generation is None:
            return
        index = 0
        while True:
            async with self._read() as conn:
                content = (
                    await conn.execute(
                        select(_D.content).where(
                            _D.job_id == job_id,
                            _D.generation == generation,
                            _D.chunk_index == index,
                        )
                    )
                ).scalar_one_or_none()
            if content is None:
                return
            yield content
            index += 1

    async def start_job(
        self, job_id: str, robots_txt: str | None, seeds: Sequence[NewPage]
    ) -> list[Task]:
        """``pending -> running`` with the seed pages, once; a second call returns no tasks."""
        now = utcnow()
        async with self._write() as conn:
            started = await conn.execute(
                update(crawling_jobs)
                .where(_J.id == job_id, _J.status == JobStatus.PENDING.value)
                .values(
                    status=JobStatus.RUNNING.value,
                    status_message=None,
                    robots_txt=robots_txt,
                    started_at=now,
                    updated_at=now,
                )
                .returning(_J.id)
            )
            if started.first() is None:
                return []
            ids = sorted((await self._insert_pages(conn, job_id, seeds)).values())
            await conn.execute(
                update(crawling_jobs)
                .where(_J.id == job_id)
                .values(pages_discovered=_J.pages_discovered + len(ids))
            )
            return await self._emit(
                conn, [Task(kind=TaskKind.PROCESS_PAGE, job_id=job_id, page_id=i) for i in ids]
            )

    async def fail_job(self, job_id: str, reason: str) -> bool:
        """Fail a job that is not terminal yet; open pages are skipped. False if already ended."""
        now = utcnow()
        async with self._write() as conn:
            return await self._fail_job(conn, job_id, reason, now)

    async def _fail_job(self, conn: AsyncConnection, job_id: str, reason: str, now: Any) -> bool:
        result = await conn.execute(
            update(crawling_jobs)
            .where(_J.id == job_id, _J.status.not_in(_TERMINAL))
            .values(
                status=JobStatus.FAILED.value,
                status_message=reason,
                lease_owner=None,
                lease_expires_at=None,
                completed_at=now,
                updated_at=now,
            )
            .returning(_J.id)
        )
        self._running_jobs.pop(job_id, None)
        if result.first() is None:
            return False
        await self._skip_open_pages(conn, job_id, "the job ended before this page was processed")
        return True

    async def _skip_open_pages(self, conn: AsyncConnection, job_id: str, reason: str) -> None:
        skipped = await conn.execute(
            update(crawled_pages)
            .where(_P.job_id == job_id, _P.status.in_(_OPEN))
            .values(
                status=PageStatus.SKIPPED.value,
                error=reason,
                lease_owner=None,
                lease_expires_at=None,
                updated_at=utcnow(),
            )
            .returning(_P.id)
        )
        count = len(skipped.all())
        if count:
            await conn.execute(
                update(crawling_jobs)
                .where(_J.id == job_id)
                .values(pages_skipped=_J.pages_skipped + count)
            )

    # -- pages --------------------------------------------------------------------------------

    async def _insert_pages(
        self, conn: AsyncConnection, job_id: str, pages: Sequence[NewPage]
    ) -> dict[str, int]:
        """Insert pages (those already there are left alone): the new rows' ids by URL hash."""
        if not pages:
            return {}
        now = utcnow()
        rows = [
            {
                "job_id": job_id,
                "url": p.url,
                "url_hash": p.url_hash,
                "status": PageStatus.PENDING.value,
                "depth": p.depth,
                "order_key": p.order_key,
                "discovered_from": p.discovered_from,
                "created_at": now,
                "updated_at": now,
            }
            for p in pages
        ]
        statement = (
            self._insert(crawled_pages)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["job_id", "url_hash"])
            .returning(_P.id, _P.url_hash)
        )
        return {row.url_hash: row.id for row in await conn.execute(statement)}

    async def claim_page(
        self, job_id: str, page_id: int, worker_id: str, lease_seconds: float
    ) -> PageClaim | None:
        """Take the lease on a pending page (or one whose lease expired) of a running job.

        None means there is nothing to do: the page is done, held by a live worker, or its job
        is not running. Safe under any number of concurrent callers: one wins.
        """
        request = (job_id, page_id, worker_id, lease_seconds)
        claimed = await self._combined.run_grouped(self._claim_pages, request)
        if claimed is None:
            return None
        row, job = claimed
        return PageClaim(
            id=row["id"],
            job_id=job_id,
            url=row["url"],
            depth=row["depth"],
            order_key=row["order_key"],
            attempts=row["attempts"],
            worker_id=worker_id,
            is_start_page=row["discovered_from"] is None and row["depth"] == 0,
            job_url=job.url,
            options=job.options,
            robots_txt=job.robots_txt,
        )

    async def _claim_pages(
        self, conn: AsyncConnection, requests: Sequence[tuple[str, int, str, float]]
    ) -> list[tuple[Any, JobRecord] | None]:
        """Claims of a write group: one UPDATE per (job, worker, lease) for all their pages.
        A page asked for twice is won by the first request, as one after the other would."""
        now = utcnow()
        results: list[tuple[Any, JobRecord] | None] = [None] * len(requests)
        groups: dict[tuple[str, str, float], list[int]] = {}
        for index, (job_id, _page, worker_id, lease_seconds) in enumerate(requests):
            groups.setdefault((job_id, worker_id, lease_seconds), []).append(index)
        for (job_id, worker_id, lease_seconds), indexes in groups.items():
            params = {
                "b_pages": sorted({requests[i][1] for i in indexes}),
                "b_job": job_id,
                "b_now": now,
                "b_owner": worker_id,
                "b_expires": now + timedelta(seconds=lease_seconds),
            }
            rows = {r["id"]: r for r in (await conn.execute(_CLAIM_PAGES, params)).mappings()}
            if not rows:
                continue
            job = self._running_jobs.get(job_id)
            if job is None:
                job = await self._job(conn, job_id)
                assert job is not None
                if len(self._running_jobs) >= RUNNING_JOB_CACHE:
                    self._running_jobs.pop(next(iter(self._running_jobs)))
                self._running_jobs[job_id] = job
            for index in indexes:
                row = rows.pop(requests[index][1], None)
                if row is not None:
                    results[index] = (row, job)
        return results

    async def _release_claim(self, conn: AsyncConnection, claim: PageClaim, **values: Any) -> bool:
        """Write the page's end state only while this worker still holds its lease."""
        result = await conn.execute(
            update(crawled_pages)
            .where(
                _P.id == claim.id,
                _P.lease_owner == claim.worker_id,
                _P.status == PageStatus.PROCESSING.value,
            )
            .values(lease_owner=None, lease_expires_at=None, updated_at=utcnow(), **values)
            .returning(_P.id)
        )
        return result.first() is not None

    async def complete_page(
        self, claim: PageClaim, outcome: PageOutcome, new_pages: Sequence[NewPage]
    ) -> PageWrite:
        """Store a processed page, its content, the job's counters and its new pages at once."""
        try:
            if outcome.final_url != claim.url:
                return await self._combined.run(
                    lambda conn: self._complete_redirected(conn, claim, outcome, new_pages)
                )
            return await self._combined.run_grouped(  # type: ignore[no-any-return]
                self._complete_pages, _Completion(claim, outcome, new_pages)
            )
        except IntegrityError:
            # Another worker stored the same final URL at the same instant (PostgreSQL).
            return await self.end_page(claim, PageStatus.SKIPPED, "duplicate after redirect")

    async def _complete_redirected(
        self,
        conn: AsyncConnection,
        claim: PageClaim,
        outcome: PageOutcome,
        new_pages: Sequence[NewPage],
    ) -> PageWrite:
        """A page that landed on another URL: skipped when that URL is a page of the job
        already, written as any other page otherwise (a race with a page being written at the
        same instant is still caught by the unique final-URL key)."""
        duplicate_of = await self._duplicate_of(conn, claim, outcome.final_url_hash)
        if duplicate_of is not None:
            return await self._end_page_in(
                conn,
                claim,
                PageStatus.SKIPPED,
                f"duplicate of {duplicate_of}",
                outcome.http_status,
            )
        (write,) = await self._complete_pages(conn, [_Completion(claim, outcome, new_pages)])
        return write

    async def _complete_pages(
        self, conn: AsyncConnection, completions: Sequence[_Completion]
    ) -> list[PageWrite]:
        """Page writes of a write group, with a few statements for all of them: each page gets
        the result it would have had written alone, after the pages before it (contract 6
        holds per page: all of it is in this one transaction)."""
        writes = [PageWrite(written=False) for _ in completions]
        held = {
            row.id: row.lease_owner
            for row in await conn.execute(
                _HELD_LEASES, {"b_pages": sorted({c.claim.id for c in completions})}
            )
        }
        done: list[int] = []  # indexes of the writes that hold their lease, first one per page
        for index, completion in enumerate(completions):
            claim = completion.claim
            if held.get(claim.id) == claim.worker_id:
                del held[claim.id]  # a second write of the same page finds it completed
                done.append(index)
                writes[index].written = True
        if not done:
            return writes
        now = utcnow()
        await conn.execute(
            _COMPLETE_PAGE,
            [_completed_values(completions[i].claim, completions[i].outcome, now) for i in done],
        )
        await conn.execute(
            _INSERT_CHUNKS,
            [
                {
                    "page_id": completions[i].claim.id,
                    "chunk_index": number,
                    "content": chunk,
                    "content_type": "text/markdown",
                    "meta": None,
                    "created_at": now,
                }
                for i in done
                for number, chunk in enumerate(split_chunks(completions[i].outcome.markdown))
            ],
        )
        by_job: dict[str, list[int]] = {}
        for i in done:
            by_job.setdefault(completions[i].claim.job_id, []).append(i)
        tasks: list[Task] = []
        for job_id, indexes in by_job.items():
            tasks += await self._count_completed(
                conn, job_id, [completions[i] for i in indexes], [writes[i] for i in indexes]
            )
        if self._outbox is not None and tasks:
            await self._outbox(conn, tasks, 0.0)
            for write in writes:
                write.tasks = []
        return writes

    async def _count_completed(
        self,
        conn: AsyncConnection,
        job_id: str,
        completions: Sequence[_Completion],
        writes: Sequence[PageWrite],
    ) -> list[Task]:
        """One job's share of a write group: its counters, the new pages its pages link to
        (each inserted once, by the first page that links to it, at the smallest depth any of
        them gives it) and, when no page is left open, the finalize task."""
        # The counters first: the UPDATE locks the job row and returns what the rest needs.
        counts = {
            "b_job": job_id,
            "b_pages": len(completions),
            "b_words": sum(c.outcome.word_count for c in completions),
            "b_tokens": sum(c.outcome.token_count for c in completions),
            "b_now": utcnow(),
        }
        start = next((c for c in completions if c.claim.is_start_page), None)
        statement = (
            _COUNT_COMPLETED.values(title=start.outcome.title)
            if start is not None  # once per job: the document takes its title
            else _COUNT_COMPLETED
        )
        counted = (await conn.execute(statement, counts)).one()
        inserted: dict[str, int] = {}
        finder: dict[str, int] = {}  # url hash -> index of the first page that links to it
        if counted.status == JobStatus.RUNNING.value:
            merged: dict[str, NewPage] = {}
            for index, completion in enumerate(completions):
                for page in completion.new_pages:
                    first = merged.get(page.url_hash)
                    if first is None:
                        merged[page.url_hash] = page
                        finder[page.url_hash] = index
                    elif page.depth < first.depth:
                        merged[page.url_hash] = dataclasses.replace(first, depth=page.depth)
            if merged:
                job = _LockedJob(
                    job_id,
                    JobStatus.RUNNING,
                    counted.pages_discovered,
                    await self._job_options(conn, job_id),
                )
                inserted, reexpand = await self._add_pages(conn, job, list(merged.values()))
                writes[-1].reexpand = reexpand
                if inserted:
                    await conn.execute(
                        _COUNT_DISCOVERED, {"b_job": job_id, "b_inserted": len(inserted)}
                    )
        tasks: list[Task] = []
        for url_hash_, page_id in sorted(inserted.items(), key=lambda item: item[1]):
            task = Task(kind=TaskKind.PROCESS_PAGE, job_id=job_id, page_id=page_id)
            writes[finder[url_hash_]].tasks.append(task)
            tasks.append(task)
        ended = counted.pages_completed + counted.pages_failed + counted.pages_skipped
        if counted.pages_discovered + len(inserted) <= ended:
            # The counters say no page is open: check it (the counters are a hint; a
            # transition they hide is the sweeper's to find, never lost).
            finalize = await self._maybe_finalize(conn, job_id)
            writes[-1].tasks += finalize
            tasks += finalize
        return tasks

    async def add_pages(self, job_id: str, new_pages: Sequence[NewPage]) -> PageWrite:
        """Add pages found again at a smaller depth (see ``PageWrite.reexpand``)."""
        async with self._write() as conn:
            job = await self._lock_job(conn, job_id)
            if job.status is not JobStatus.RUNNING:
                return PageWrite()
            inserted, reexpand = await self._add_pages(conn, job, new_pages)
            await conn.execute(
                update(crawling_jobs)
                .where(_J.id == job_id)
                .values(pages_discovered=_J.pages_discovered + len(inserted))
            )
            tasks = [
                Task(kind=TaskKind.PROCESS_PAGE, job_id=job_id, page_id=i)
                for i in sorted(inserted.values())
            ]
            return PageWrite(tasks=await self._emit(conn, tasks), reexpand=reexpand)

    async def _job_options(self, conn: AsyncConnection, job_id: str) -> CrawlOptions:
        """The job's options, parsed once per job (they never change after creation)."""
        options = self._options.get(job_id)
        if options is None:
            raw = (await conn.execute(select(_J.options).where(_J.id == job_id))).scalar_one()
            options = CrawlOptions.model_validate(raw)
            if len(self._options) >= RUNNING_JOB_CACHE:
                self._options.pop(next(iter(self._options)))
            self._options[job_id] = options
        return options

    async def _lock_job(self, conn: AsyncConnection, job_id: str) -> _LockedJob:
        """The job's row locked for this transaction, read narrowly."""
        row = (await conn.execute(_LOCK_JOB, {"b_job": job_id})).one()
        options = await self._job_options(conn, job_id)
        return _LockedJob(job_id, JobStatus(row.status), row.pages_discovered, options)

    async def _duplicate_of(
        self, conn: AsyncConnection, claim: PageClaim, final_url_hash: str
    ) -> str | None:
        query = (
            select(_P.url)
            .where(
                _P.job_id == claim.job_id,
                _P.id != claim.id,
                or_(_P.url_hash == final_url_hash, _P.final_url_hash == final_url_hash),
            )
            .order_by(_P.id)
            .limit(1)
        )
        return (await conn.execute(query)).scalar_one_or_none()

    async def _add_pages(
        self, conn: AsyncConnection, job: _LockedJob, new_pages: Sequence[NewPage]
    ) -> tuple[dict[str, int], list[PageRecord]]:
        """Insert unseen pages up to the page cap; lower the depth of known ones.

        Returns the inserted pages' ids by URL hash and the completed pages whose depth fell
        below the limit, whose links were not followed before and must be now.
        """
        if not new_pages:
            return {}, []
        hashes = [p.url_hash for p in new_pages]
        known = {
            row.url_hash: row
            for row in await conn.execute(_KNOWN_PAGES, {"b_job": job.id, "b_hashes": hashes})
        }
        known_final = {row.final_url_hash for row in known.values() if row.final_url_hash}
        room = max(0, job.options.max_pages - job.pages_discovered)
        fresh = [p for p in new_pages if p.url_hash not in known and p.url_hash not in known_final]
        inserted = await self._insert_pages(conn, job.id, fresh[:room])

        deeper = [
            (row.id, p.depth, row.depth, row.status)
            for p in new_pages
            if (row := known.get(p.url_hash)) is not None and row.depth > p.depth
        ]
        reexpand_ids: list[int] = []
        for page_id, depth, old_depth, status in deeper:
            await conn.execute(update(crawled_pages).where(_P.id == page_id).values(depth=depth))
            limit = job.options.max_depth
            if status == PageStatus.COMPLETED.value and old_depth >= limit > depth:
                reexpand_ids.append(page_id)
        reexpand = await self._pages(conn, job.id, reexpand_ids) if reexpand_ids else []
        return inserted, reexpand

    async def _maybe_finalize(self, conn: AsyncConnection, job_id: str) -> list[Task]:
        """``running -> finalizing`` when no page is open; exactly one transaction wins."""
        result = await conn.execute(_MAYBE_FINALIZE, {"b_job": job_id, "b_now": utcnow()})
        if result.first() is None:
            return []
        return [Task(kind=TaskKind.FINALIZE, job_id=job_id)]

    async def end_page(
        self,
        claim: PageClaim,
        status: PageStatus,
        error: str,
        http_status: int | None = None,
    ) -> PageWrite:
        """Mark a claimed page failed or skipped; a failed start page fails the whole job."""
        return await self._combined.run(
            lambda conn: self._end_page_in(conn, claim, status, error, http_status)
        )

    async def _end_page_in(
        self,
        conn: AsyncConnection,
        claim: PageClaim,
        status: PageStatus,
        error: str,
        http_status: int | None,
    ) -> PageWrite:
        if not await self._release_claim(
            conn, claim, status=status.value, error=error, http_status=http_status
        ):
            return PageWrite(written=False)
        counter = _J.pages_failed if status is PageStatus.FAILED else _J.pages_skipped
        await conn.execute(
            update(crawling_jobs)
            .where(_J.id == claim.job_id)
            .values({counter.key: counter + 1, "updated_at": utcnow()})
        )
        if claim.is_start_page:
            await self._fail_job(
                conn, claim.job_id, f"the start page {claim.url}: {error}", utcnow()
            )
            return PageWrite()
        return PageWrite(
            tasks=await self._emit(conn, await self._maybe_finalize(conn, claim.job_id))
        )

    async def retry_page(self, claim: PageClaim, error: str, delay: float = 0.0) -> list[Task]:
        """Give a claimed page back to the queue after a transient error (due after ``delay``
        seconds with a transactional outbox; otherwise the caller publishes it with the delay)."""

        async def retry(conn: AsyncConnection) -> list[Task]:
            if not await self._release_claim(
                conn, claim, status=PageStatus.PENDING.value, error=error
            ):
                return []
            task = Task(
                kind=TaskKind.PROCESS_PAGE,
                job_id=claim.job_id,
                page_id=claim.id,
                attempt=claim.attempts,
            )
            return await self._emit(conn, [task], delay)

        return await self._combined.run(retry)

    async def _pages(
        self, conn: AsyncConnection, job_id: str, ids: Sequence[int] | None = None
    ) -> list[PageRecord]:
        query = select(crawled_pages).where(_P.job_id == job_id).order_by(_P.order_key, _P.id)
        if ids is not None:
            query = query.where(_P.id.in_(ids))
        return [
            PageRecord(
                id=r["id"],
                url=r["url"],
                url_hash=r["url_hash"],
                title=r["title"],
                status=PageStatus(r["status"]),
                http_status=r["http_status"],
                error=r["error"],
                depth=r["depth"],
                order_key=r["order_key"],
                links=tuple(r["links"] or ()),
                word_count=r["word_count"],
                token_count=r["token_count"],
                attempts=r["attempts"],
                generator=r["generator"],
                quality=r["quality"],
                fidelity=r["fidelity"],
                nav=r["nav"],
            )
            for r in (await conn.execute(query)).mappings()
        ]

    async def pages(self, job_id: str, user_id: str | None = None) -> list[PageRecord]:
        """The job's pages in document order (empty for another user's job)."""
        async with self._read() as conn:
            if user_id is not None and await self._job(conn, job_id, user_id) is None:
                return []
            return await self._pages(conn, job_id)
