"""Queries of a crawl that meets the site again: the previous crawl a re-crawl revalidates
against (conditional requests), and a job that waits for its robots.txt.

Every query on another job's pages is scoped by user id (contract 4): a re-crawl only ever
reuses pages of its own user's crawls.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from docspasta.domain import JobStatus, PageStatus, Task, TaskKind
from docspasta.store.lifecycle import LifecycleStore
from docspasta.store.records import JobRecord, ReusablePage
from docspasta.store.repository import _C, _J, _P, _b
from docspasta.store.schema import crawling_jobs, page_content_chunks, utcnow

#: Finished crawls of the same URL looked at for one with compatible options.
PREVIOUS_CANDIDATES = 20
_FINISHED = (JobStatus.COMPLETED.value, JobStatus.PARTIAL_SUCCESS.value)
# A re-crawl looks up every page it fetches in the previous crawl: built once (see repository).
_REUSABLE_PAGE = (
    select(
        _P.id.label("page_id"),
        _P.url,
        _P.final_url,
        _P.etag,
        _P.last_modified,
        _P.title,
        _P.links,
        _P.word_count,
        _P.token_count,
        _P.generator,
        _P.quality,
        _P.fidelity,
        _P.nav,
        _P.block_keys,
    )
    .join(crawling_jobs, _J.id == _P.job_id)
    .where(
        _J.user_id == _b("b_user"),
        _P.job_id == _b("b_job"),
        _P.url_hash == _b("b_hash"),
        _P.status == PageStatus.COMPLETED.value,
        (_P.etag.is_not(None)) | (_P.last_modified.is_not(None)),
    )
)
_HAS_VALIDATOR = (
    select(_P.id)
    .where(
        _P.job_id == _b("b_job"),
        _P.status == PageStatus.COMPLETED.value,
        (_P.etag.is_not(None)) | (_P.last_modified.is_not(None)),
    )
    .limit(1)
)
_PAGE_CONTENT = (
    select(_C.content)
    .select_from(page_content_chunks)
    .where(_C.page_id == _b("b_page"))
    .order_by(_C.chunk_index)
)


async def _page_markdown(conn: AsyncConnection, page_id: int) -> str:
    chunks = await conn.execute(_PAGE_CONTENT, {"b_page": page_id})
    return "".join(chunks.scalars().all())


class RevisitStore(LifecycleStore):
    """Re-crawls and robots.txt waits; ``Store`` adds the service queries."""

    async def previous_crawl(self, job_id: str) -> JobRecord | None:
        """The crawl a re-crawl of ``job_id`` revalidates its pages against, or None.

        That is the newest crawl of the same user and start URL that finished (completed or
        partial success) before this job was created, whose options convert pages the same
        way (:meth:`CrawlOptions.converts_like`) and whose robots.txt was the same (so its
        stored links passed the same rules). None too when that crawl stored no validator
        (the site sent no ETag or Last-Modified): there is nothing to ask "only if changed"
        about, and no page need be looked up. A pure function of the database, so every
        worker picks the same one.
        """
        async with self._read() as conn:
            job = await self._job(conn, job_id)
            if job is None:
                return None
            rows = await conn.execute(
                select(crawling_jobs)
                .where(
                    _J.user_id == job.user_id,
                    _J.url == job.url,
                    _J.id != job.id,
                    _J.status.in_(_FINISHED),
                    _J.completed_at <= job.created_at,
                )
                .order_by(_J.completed_at.desc(), _J.id.desc())
                .limit(PREVIOUS_CANDIDATES)
            )
            for row in rows.mappings():
                previous = JobRecord.from_row(row)
                if job.options.converts_like(previous.options) and (
                    previous.robots_txt == job.robots_txt
                ):
                    validated = await conn.execute(_HAS_VALIDATOR, {"b_job": previous.id})
                    return previous if validated.first() is not None else None
        return None

    async def page_markdown(self, page_id: int) -> str:
        """A page's whole markdown (its chunks joined)."""
        async with self._read() as conn:
            return await _page_markdown(conn, page_id)

    async def reusable_page(self, user_id: str, job_id: str, url_hash: str) -> ReusablePage | None:
        """The completed page of ``url_hash`` in the user's job ``job_id`` with its markdown,
        when it has a validator (ETag or Last-Modified); None otherwise, and always None for
        another user's job."""
        params = {"b_user": user_id, "b_job": job_id, "b_hash": url_hash}
        async with self._read() as conn:
            page = (await conn.execute(_REUSABLE_PAGE, params)).mappings().first()
            if page is None:
                return None
            markdown = await _page_markdown(conn, page["page_id"])
        return ReusablePage(
            job_id=job_id,
            url=page["url"],
            final_url=page["final_url"] or page["url"],
            etag=page["etag"],
            last_modified=page["last_modified"],
            title=page["title"] or "",
            markdown=markdown,
            links=tuple(page["links"] or ()),
            word_count=page["word_count"],
            token_count=page["token_count"],
            generator=page["generator"],
            quality=page["quality"],
            fidelity=page["fidelity"],
            nav=page["nav"],
            block_keys=page["block_keys"],
        )

    async def wait_for_robots(self, job_id: str, message: str, delay: float) -> list[Task]:
        """Keep a pending job pending (its robots.txt answered a server error: RFC 9309 says
        crawl nothing for now) with ``message`` as its status; returns the start-crawl task
        to publish with ``delay``. No task when the job is no longer pending (cancelled)."""
        async with self._write() as conn:
            waiting = await conn.execute(
                update(crawling_jobs)
                .where(_J.id == job_id, _J.status == JobStatus.PENDING.value)
                .values(status_message=message, updated_at=utcnow())
                .returning(_J.id)
            )
            if waiting.first() is None:
                return []
            task = Task(kind=TaskKind.START_CRAWL, job_id=job_id)
            return await self._emit(conn, [task], delay)
