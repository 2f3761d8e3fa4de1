"""Finalisation (exactly once, under a lease) and recovery of lost work (the sweeper's queries)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, insert, or_, select, update

from docspasta.domain import JobStatus, PageStatus, Task, TaskKind
from docspasta.store.records import JobRecord
from docspasta.store.repository import (
    _C,
    _D,
    _J,
    _OPEN,
    _P,
    _TERMINAL,
    STREAM_ROWS,
    JobPageStore,
)
from docspasta.store.schema import (
    crawled_pages,
    crawling_jobs,
    document_chunks,
    page_content_chunks,
    utcnow,
)

#: One page's final order key (executed once per page, as one executemany).
_SET_ORDER_KEY = (
    update(crawled_pages)
    .where(
        _P.id == bindparam("b_page"),
        _P.job_id == bindparam("b_job"),
        _P.order_key != bindparam("b_key"),
    )
    .values(order_key=bindparam("b_key"))
)


class LifecycleStore(JobPageStore):
    """Finalisation and recovery; ``Store`` adds the service queries."""

    async def claim_finalize(
        self, job_id: str, worker_id: str, lease_seconds: float
    ) -> JobRecord | None:
        """Take the finalize lease of a finalizing job; None when another worker holds it or the
        job is not finalizing (already finished: nothing to do)."""
        now = utcnow()
        async with self._write() as conn:
            result = await conn.execute(
                update(crawling_jobs)
                .where(
                    _J.id == job_id,
                    _J.status == JobStatus.FINALIZING.value,
                    or_(_J.lease_owner.is_(None), _J.lease_expires_at < now),
                )
                .values(
                    lease_owner=worker_id,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                )
                .returning(_J.id)
            )
            if result.first() is None:
                return None
            return await self._job(conn, job_id)

    async def set_order_keys(self, job_id: str, keys: Mapping[int, str]) -> None:
        """Write the final document order (page id -> order key)."""
        if not keys:
            return
        async with self._write() as conn:
            await conn.execute(
                _SET_ORDER_KEY,
                [{"b_page": page, "b_job": job_id, "b_key": key} for page, key in keys.items()],
            )

    async def iter_page_content(
        self, job_id: str
    ) -> AsyncIterator[tuple[int, str, str | None, str]]:
        """(page id, url, title, markdown chunk) of completed pages, in document order."""
        query = (
            select(_P.id, _P.url, _P.title, _C.content)
            .join(page_content_chunks, _C.page_id == _P.id)
            .where(_P.job_id == job_id, _P.status == PageStatus.COMPLETED.value)
            .order_by(_P.order_key, _P.id, _C.chunk_index)
        )
        async with self._read() as conn:
            result = await conn.stream(query.execution_options(yield_per=STREAM_ROWS))
            async for row in result:
                yield row.id, row.url, row.title, row.content

    async def write_document_chunk(
        self, job_id: str, worker_id: str, generation: str, index: int, content: str
    ) -> bool:
        """Store chunk ``index`` of the document generation ``generation``, while this worker
        holds the finalize lease (the job row is locked meanwhile: a claim waits). False if the
        lease was lost: the finalize must stop."""
        async with self._write() as conn:
            held = await conn.execute(
                select(_J.id)
                .where(
                    _J.id == job_id,
                    _J.status == JobStatus.FINALIZING.value,
                    _J.lease_owner == worker_id,
                )
                .with_for_update()
            )
            if held.first() is None:
                return False
            await conn.execute(
                document_chunks.delete().where(
                    _D.job_id == job_id, _D.generation == generation, _D.chunk_index == index
                )
            )
            await conn.execute(
                insert(document_chunks).values(
                    job_id=job_id, generation=generation, chunk_index=index, content=content
                )
            )
        return True

    async def finish_job(
        self,
        job_id: str,
        worker_id: str,
        status: JobStatus,
        message: str | None,
        document: tuple[str, int] | None,
    ) -> bool:
        """``finalizing -> terminal`` by the lease holder only, with ``document`` = (generation
        written by :meth:`write_document_chunk`, its size in UTF-8 bytes), or None. Chunks of
        any other generation are deleted. False if the lease was lost."""
        now = utcnow()
        self._running_jobs.pop(job_id, None)
        generation, size = document if document is not None else (None, None)
        async with self._write() as conn:
            result = await conn.execute(
                update(crawling_jobs)
                .where(
                    _J.id == job_id,
                    _J.status == JobStatus.FINALIZING.value,
                    _J.lease_owner == worker_id,
                )
                .values(
                    status=status.value,
                    status_message=message,
                    document_generation=generation,
                    markdown_bytes=size,
                    lease_owner=None,
                    lease_expires_at=None,
                    completed_at=now,
                    updated_at=now,
                )
                .returning(_J.id)
            )
            if result.first() is None:
                return False
            stale = document_chunks.delete().where(_D.job_id == job_id)
            if generation is not None:
                stale = stale.where(_D.generation != generation)
            await conn.execute(stale)
            return True

    async def failed_pages(self, job_id: str) -> list[tuple[str, str]]:
        """(url, reason) of the job's failed pages, in document order."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(_P.url, _P.error)
                .where(_P.job_id == job_id, _P.status == PageStatus.FAILED.value)
                .order_by(_P.order_key, _P.id)
            )
            return [(r.url, r.error or "") for r in rows]

    async def fidelity_records(self, job_id: str) -> list[tuple[str, dict[str, Any]]]:
        """(url, fidelity record) of the job's completed pages that have one, in document
        order: two columns, not the pages' links and content."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(_P.url, _P.fidelity)
                .where(
                    _P.job_id == job_id,
                    _P.status == PageStatus.COMPLETED.value,
                    _P.fidelity.is_not(None),
                )
                .order_by(_P.order_key, _P.id)
            )
            return [(r.url, r.fidelity) for r in rows if r.fidelity]

    # -- recovery -----------------------------------------------------------------------------

    async def release_leases(self, worker_id: str) -> int:
        """Give back everything this worker holds (a clean stop); returns the pages released."""
        await self._combined.drain()  # a claim still queued must not land after this
        async with self._write() as conn:
            pages = await conn.execute(
                update(crawled_pages)
                .where(_P.lease_owner == worker_id, _P.status == PageStatus.PROCESSING.value)
                .values(status=PageStatus.PENDING.value, lease_owner=None, lease_expires_at=None)
                .returning(_P.id)
            )
            released = len(pages.all())
            await conn.execute(
                update(crawling_jobs)
                .where(_J.lease_owner == worker_id)
                .values(lease_owner=None, lease_expires_at=None)
            )
        return released

    async def recoverable_tasks(
        self, *, older_than: float = 0.0, job_id: str | None = None
    ) -> list[Task]:
        """Tasks for work that may have lost its message (contract 1), oldest first.

        Pending pages and jobs untouched for ``older_than`` seconds, pages and finalizations
        whose lease expired, and running jobs with no open page left (a lost transition).
        """
        now = utcnow()
        cutoff = now - timedelta(seconds=older_than)
        running = select(_J.id).where(_J.status == JobStatus.RUNNING.value)
        page_query = (
            select(_P.job_id, _P.id)
            .where(
                _P.job_id.in_(running),
                or_(
                    and_(_P.status == PageStatus.PENDING.value, _P.updated_at <= cutoff),
                    and_(_P.status == PageStatus.PROCESSING.value, _P.lease_expires_at < now),
                ),
            )
            .order_by(_P.job_id, _P.order_key, _P.id)
        )
        job_query = select(_J.id, _J.status).where(
            or_(
                and_(_J.status == JobStatus.PENDING.value, _J.updated_at <= cutoff),
                and_(
                    _J.status == JobStatus.FINALIZING.value,
                    or_(
                        and_(_J.lease_owner.is_(None), _J.updated_at <= cutoff),
                        _J.lease_expires_at < now,
                    ),
                ),
            )
        )
        if job_id is not None:
            page_query = page_query.where(_P.job_id == job_id)
            job_query = job_query.where(_J.id == job_id)
        tasks: list[Task] = []
        async with self._read() as conn:
            for row in await conn.execute(job_query):
                kind = (
                    TaskKind.START_CRAWL
                    if row.status == JobStatus.PENDING.value
                    else TaskKind.FINALIZE
                )
                tasks.append(Task(kind=kind, job_id=row.id))
            tasks += [
                Task(kind=TaskKind.PROCESS_PAGE, job_id=row.job_id, page_id=row.id)
                for row in await conn.execute(page_query)
            ]
        tasks += await self._finalize_stranded(job_id)
        return tasks

    async def _finalize_stranded(self, job_id: str | None) -> list[Task]:
        open_pages = exists().where(_P.job_id == _J.id, _P.status.in_(_OPEN))
        query = select(_J.id).where(_J.status == JobStatus.RUNNING.value, ~open_pages)
        if job_id is not None:
            query = query.where(_J.id == job_id)
        async with self._read() as conn:
            stranded = [row.id for row in await conn.execute(query)]
        tasks: list[Task] = []
        for stranded_id in stranded:
            async with self._write() as conn:
                tasks += await self._emit(conn, await self._maybe_finalize(conn, stranded_id))
        return tasks

    async def is_terminal(self, job_id: str) -> bool:
        async with self._read() as conn:
            status = (
                await conn.execute(select(_J.status).where(_J.id == job_id))
            ).scalar_one_or_none()
        return status is None or status in _TERMINAL
