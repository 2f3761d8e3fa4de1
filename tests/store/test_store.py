"""Store contracts, once per backend (SQLite file, PostgreSQL database)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from sqlalchemy import func, select, update

from docspasta.domain import CrawlOptions, JobStatus, PageStatus, TaskKind
from docspasta.store import NewPage, PageOutcome, Store
from docspasta.store.schema import (
    crawled_pages,
    crawling_jobs,
    document_chunks,
    page_content_chunks,
)

OPTIONS = CrawlOptions(max_pages=10, max_depth=5)


def page(url: str, depth: int = 0, key: str = "", parent: int | None = None) -> NewPage:
    return NewPage(url=url, url_hash=f"h:{url}", depth=depth, order_key=key, discovered_from=parent)


def outcome(url: str, links: tuple[str, ...] = ()) -> PageOutcome:
    return PageOutcome(
        final_url=url,
        final_url_hash=f"h:{url}",
        http_status=200,
        title=f"Title {url}",
        markdown=f"Body of {url}\n",
        links=links,
        word_count=3,
        token_count=5,
    )


async def running_job(store: Store, user: str = "alice") -> tuple[str, int]:
    job, tasks = await store.create_job(user, "https://docs.example.com/", OPTIONS)
    assert [t.kind for t in tasks] == [TaskKind.START_CRAWL]
    started = await store.start_job(job.id, None, [page("https://docs.example.com/")])
    assert len(started) == 1
    assert started[0].page_id is not None
    return job.id, started[0].page_id


async def complete_start_page(
    store: Store, job_id: str, page_id: int, done: PageOutcome | None = None
) -> list[int]:
    """Claim and complete the start page, which links to /a and /b: the new pages' ids."""
    root = await store.claim_page(job_id, page_id, "w", 60)
    assert root is not None
    children = [
        page("https://docs.example.com/a", 1, "000000", page_id),
        page("https://docs.example.com/b", 1, "000001", page_id),
    ]
    write = await store.complete_page(root, done or outcome(root.url), children)
    return [t.page_id for t in write.tasks if t.page_id is not None]


async def count(store: Store, table: object, *where: object) -> int:
    async with store.engines.reader.connect() as conn:
        query = select(func.count()).select_from(table)  # type: ignore[arg-type]
        for clause in where:
            query = query.where(clause)  # type: ignore[arg-type]
        return int((await conn.execute(query)).scalar_one())


async def test_trigger_bumps_state_version_on_every_meaningful_update(store: Store) -> None:
    job, _ = await store.create_job("alice", "https://docs.example.com/", OPTIONS)
    assert job.state_version == 1
    versions = [1]
    async with store.engines.writer.begin() as conn:
        for values in (
            {"status": "running"},
            {"pages_discovered": 3},
            {"status_message": "hello"},
            {"total_tokens": 42},
        ):
            result = await conn.execute(
                update(crawling_jobs)
                .where(crawling_jobs.c.id == job.id)
                .values(**values)
                .returning(crawling_jobs.c.state_version)
            )
            result.all()  # on SQLite RETURNING shows the value before the AFTER trigger
            reread = await conn.execute(
                select(crawling_jobs.c.state_version).where(crawling_jobs.c.id == job.id)
            )
            versions.append(reread.scalar_one())
        # Lease bookkeeping is not a new state for progress readers.
        await conn.execute(
            update(crawling_jobs).where(crawling_jobs.c.id == job.id).values(lease_owner="w")
        )
    assert versions == [1, 2, 3, 4, 5]
    assert await store.state_version(job.id) == 5


async def test_application_cannot_set_state_version_backwards(store: Store) -> None:
    job, _ = await store.create_job("alice", "https://docs.example.com/", OPTIONS)
    async with store.engines.writer.begin() as conn:
        await conn.execute(
            update(crawling_jobs)
            .where(crawling_jobs.c.id == job.id)
            .values(status="running", state_version=1)
        )
    version = await store.state_version(job.id)
    assert version is not None
    assert version >= 2


async def test_start_job_runs_once(store: Store) -> None:
    job_id, _ = await running_job(store)
    again = await store.start_job(job_id, None, [page("https://docs.example.com/")])
    assert again == []
    assert await count(store, crawled_pages, crawled_pages.c.job_id == job_id) == 1


async def test_concurrent_claims_have_one_winner(store: Store) -> None:
    job_id, page_id = await running_job(store)
    claims = await asyncio.gather(
        *(store.claim_page(job_id, page_id, f"w{i}", 60) for i in range(8))
    )
    winners = [c for c in claims if c is not None]
    assert len(winners) == 1
    assert winners[0].is_start_page


async def test_expired_lease_can_be_reclaimed_and_stale_worker_writes_nothing(
    store: Store,
) -> None:
    job_id, page_id = await running_job(store)
    stale = await store.claim_page(job_id, page_id, "old", 0.0)
    assert stale is not None
    await asyncio.sleep(0.01)
    fresh = await store.claim_page(job_id, page_id, "new", 60)
    assert fresh is not None
    lost = await store.complete_page(stale, outcome(stale.url), [])
    assert not lost.written
    assert await count(store, page_content_chunks) == 0
    done = await store.complete_page(fresh, outcome(fresh.url), [])
    assert done.written
    assert [t.kind for t in done.tasks] == [TaskKind.FINALIZE]


async def test_duplicate_discoveries_create_no_duplicate_pages(store: Store) -> None:
    job_id, page_id = await running_job(store)
    claim = await store.claim_page(job_id, page_id, "w", 60)
    assert claim is not None
    children = [
        page(f"https://docs.example.com/{n}", 1, f"{i:06d}", page_id)
        for i, n in enumerate(["a", "b", "a"])
    ]
    write = await store.complete_page(claim, outcome(claim.url, ("a", "b")), children)
    assert len(write.tasks) == 2
    # The same page processed again (a duplicate task after a lost lease) adds nothing.
    assert await store.claim_page(job_id, page_id, "w2", 60) is None
    again = await store.add_pages(job_id, children)
    assert again.tasks == []
    assert await count(store, crawled_pages, crawled_pages.c.job_id == job_id) == 3
    job = await store.get_job(job_id)
    assert job is not None
    assert job.pages_discovered == 3
    assert job.pages_completed == 1
    assert await count(store, page_content_chunks) == 1


async def test_page_cap_is_never_exceeded(store: Store) -> None:
    job, _ = await store.create_job("alice", "https://d.example/", CrawlOptions(max_pages=3))
    tasks = await store.start_job(job.id, None, [page("https://d.example/")])
    assert tasks[0].page_id is not None
    claim = await store.claim_page(job.id, tasks[0].page_id, "w", 60)
    assert claim is not None
    children = [page(f"https://d.example/{i}", 1, f"{i:06d}") for i in range(10)]
    write = await store.complete_page(claim, outcome(claim.url), children)
    assert len(write.tasks) == 2
    assert await count(store, crawled_pages, crawled_pages.c.job_id == job.id) == 3


async def test_finalize_transition_and_lease_have_one_winner(store: Store) -> None:
    job_id, page_id = await running_job(store)
    claim = await store.claim_page(job_id, page_id, "w", 60)
    assert claim is not None
    write = await store.complete_page(claim, outcome(claim.url), [])
    assert [t.kind for t in write.tasks] == [TaskKind.FINALIZE]
    # A lost finalize message is found by the sweeper; a second transition is impossible.
    recovered = await store.recoverable_tasks(older_than=0)
    assert [t.kind for t in recovered] == [TaskKind.FINALIZE]
    holders = await asyncio.gather(*(store.claim_finalize(job_id, f"f{i}", 60) for i in range(6)))
    winners = [h for h in holders if h is not None]
    assert len(winners) == 1
    winner = f"f{holders.index(winners[0])}"
    loser = "f0" if winner != "f0" else "f1"
    # Only the lease holder writes the document, in chunks of its own generation.
    assert not await store.write_document_chunk(job_id, loser, "g-loser", 0, "x")
    assert await store.write_document_chunk(job_id, winner, "g-stale", 0, "stale attempt")
    assert await store.write_document_chunk(job_id, winner, "g1", 0, "d")
    assert await store.write_document_chunk(job_id, winner, "g1", 1, "oc")
    assert not await store.finish_job(job_id, loser, JobStatus.COMPLETED, None, ("g-loser", 1))
    assert await store.finish_job(job_id, winner, JobStatus.COMPLETED, None, ("g1", 3))
    # The job's generation is the document; the others are gone; no writes after the end.
    assert not await store.write_document_chunk(job_id, winner, "g1", 2, "late")
    # Terminal states never change again.
    assert not await store.fail_job(job_id, "late failure")
    job = await store.get_job(job_id)
    assert job is not None
    assert job.status is JobStatus.COMPLETED
    assert (job.document_generation, job.markdown_bytes) == ("g1", 3)
    assert await store.final_markdown(job_id) == "doc"
    assert [chunk async for chunk in store.iter_final_markdown(job_id)] == ["d", "oc"]
    async with store.engines.reader.connect() as conn:
        generations = await conn.execute(
            select(document_chunks.c.generation).where(document_chunks.c.job_id == job_id)
        )
        assert set(generations.scalars()) == {"g1"}


async def test_failed_start_page_fails_the_job(store: Store) -> None:
    job_id, page_id = await running_job(store)
    claim = await store.claim_page(job_id, page_id, "w", 60)
    assert claim is not None
    await store.end_page(claim, PageStatus.FAILED, "HTTP 404", 404)
    job = await store.get_job(job_id)
    assert job is not None
    assert job.status is JobStatus.FAILED
    assert job.status_message is not None
    assert "HTTP 404" in job.status_message


async def test_redirect_to_a_known_page_is_skipped_as_duplicate(store: Store) -> None:
    job_id, page_id = await running_job(store)
    ids = await complete_start_page(store, job_id, page_id)
    a = await store.claim_page(job_id, ids[0], "w", 60)
    assert a is not None
    # /a redirects to /b, which is a page of its own: /a is a duplicate.
    redirected = outcome("https://docs.example.com/b")
    await store.complete_page(a, redirected, [])
    pages = {p.url: p for p in await store.pages(job_id)}
    assert pages["https://docs.example.com/a"].status is PageStatus.SKIPPED
    assert "duplicate of https://docs.example.com/b" in (
        pages["https://docs.example.com/a"].error or ""
    )


async def test_users_only_see_their_own_jobs(store: Store) -> None:
    job_id, _ = await running_job(store, user="alice")
    assert await store.get_job(job_id, "alice") is not None
    assert await store.get_job(job_id, "mallory") is None
    assert await store.snapshot(job_id, "mallory") is None
    assert await store.state_version(job_id, "mallory") is None
    assert await store.final_markdown(job_id, "mallory") is None
    assert await store.pages(job_id, "mallory") == []


async def test_released_leases_are_recovered(store: Store) -> None:
    job_id, page_id = await running_job(store)
    claim = await store.claim_page(job_id, page_id, "w", 600)
    assert claim is not None
    assert await store.recoverable_tasks(older_than=0) == []
    assert await store.release_leases("w") == 1
    recovered = await store.recoverable_tasks(older_than=0)
    assert [(t.kind, t.page_id) for t in recovered] == [(TaskKind.PROCESS_PAGE, page_id)]


async def test_retention_removes_only_old_finished_jobs(store: Store) -> None:
    from datetime import timedelta

    from docspasta.store.schema import utcnow

    finished, _ = await running_job(store)
    await store.fail_job(finished, "done")
    active, _ = await running_job(store)
    assert await store.delete_finished_before(utcnow() - timedelta(days=1)) == 0
    assert await store.delete_finished_before(utcnow() + timedelta(seconds=1)) == 1
    assert await store.get_job(finished) is None
    assert await store.get_job(active) is not None
    assert await count(store, crawled_pages, crawled_pages.c.job_id == finished) == 0


async def test_cancel_skips_open_pages_and_is_final(store: Store) -> None:
    job_id, page_id = await running_job(store)
    assert await store.cancel_job(job_id, "mallory") is None
    cancelled = await store.cancel_job(job_id, "alice")
    assert cancelled is not None
    assert cancelled.status is JobStatus.CANCELLED
    assert await store.claim_page(job_id, page_id, "w", 60) is None
    pages = await store.pages(job_id)
    assert [p.status for p in pages] == [PageStatus.SKIPPED]
    assert not await store.fail_job(job_id, "late")


async def test_fidelity_records_are_the_completed_pages_that_have_one(store: Store) -> None:
    job_id, page_id = await running_job(store)
    lost = {"links_html": 3, "links_markdown": 2}
    done = replace(outcome("https://docs.example.com/"), fidelity=lost)
    ids = await complete_start_page(store, job_id, page_id, done)
    a = await store.claim_page(job_id, ids[0], "w", 60)
    b = await store.claim_page(job_id, ids[1], "w", 60)
    assert a is not None
    assert b is not None
    await store.complete_page(a, outcome(a.url), [])  # no fidelity record
    await store.end_page(b, PageStatus.FAILED, "HTTP 500", 500)
    assert await store.fidelity_records(job_id) == [("https://docs.example.com/", lost)]
