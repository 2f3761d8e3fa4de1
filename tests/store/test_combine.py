"""Group commit (store/combine.py): concurrent page writes share transactions, each keeps its
own outcome, and one failing write fails alone. Once per backend."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from docspasta.domain import JobStatus, PageStatus, TaskKind
from docspasta.store import Store
from docspasta.store.combine import WriteCombiner
from docspasta.store.schema import crawled_pages, crawling_jobs
from tests.store.test_store import outcome, page, running_job


async def test_concurrent_page_writes_share_transactions_and_keep_their_outcomes(
    store: Store,
) -> None:
    job_id, root_id = await running_job(store)  # max_pages=10
    root = await store.claim_page(job_id, root_id, "w", 60)
    assert root is not None
    children = [page(f"https://docs.example.com/p{i}", 1, f"{i:06d}", root_id) for i in range(7)]
    first = await store.complete_page(root, outcome(root.url), children)
    ids = [t.page_id for t in first.tasks]
    assert len(ids) == 7
    combiner = store._combined
    before = (combiner.transactions, combiner.operations)

    claims = await asyncio.gather(*(store.claim_page(job_id, i, "w", 60) for i in ids))  # type: ignore[arg-type]
    assert all(c is not None for c in claims)
    # Every page links to the same two new pages: each is inserted once, by the first writer.
    shared = ("https://docs.example.com/x", "https://docs.example.com/y")
    writes = await asyncio.gather(
        *(
            store.complete_page(
                c,  # type: ignore[arg-type]
                outcome(c.url, shared),  # type: ignore[union-attr]
                [page(u, 2, c.order_key + f"{n:06d}", c.id) for n, u in enumerate(shared)],  # type: ignore[union-attr]
            )
            for c in claims
        )
    )
    transactions = combiner.transactions - before[0]
    operations = combiner.operations - before[1]
    assert operations == 14
    assert transactions < operations  # shared: not one transaction per write
    assert all(w.written for w in writes)
    new_tasks = [t for w in writes for t in w.tasks]
    assert [t.kind for t in new_tasks] == [TaskKind.PROCESS_PAGE] * 2
    assert writes[0].tasks == new_tasks  # the first page in arrival order discovered them

    job = await store.get_job(job_id)
    assert job is not None
    assert job.status is JobStatus.RUNNING
    # The page cap (10) is reached exactly.
    assert (job.pages_discovered, job.pages_completed) == (10, 8)
    assert job.total_tokens == 8 * 5
    pages = {p.url: p for p in await store.pages(job_id)}
    assert pages["https://docs.example.com/x"].depth == 2
    assert all(pages[c.url].status is PageStatus.COMPLETED for c in claims)  # type: ignore[union-attr]


async def test_a_failing_write_fails_alone(store: Store) -> None:
    job_id, _ = await running_job(store)
    combiner = WriteCombiner(store.engines.writer.begin)

    def set_title(title: str):  # type: ignore[no-untyped-def]
        async def op(conn: AsyncConnection) -> str:
            await conn.execute(
                update(crawling_jobs).where(crawling_jobs.c.id == job_id).values(title=title)
            )
            return title

        return op

    async def broken(conn: AsyncConnection) -> None:
        await conn.execute(
            update(crawling_jobs).where(crawling_jobs.c.id == job_id).values(title="broken")
        )
        raise ValueError("this write fails")

    results = await asyncio.gather(
        combiner.run(set_title("one")),
        combiner.run(broken),
        combiner.run(set_title("two")),
        return_exceptions=True,
    )
    assert results[0] == "one"
    assert isinstance(results[1], ValueError)
    assert results[2] == "two"
    job = await store.get_job(job_id)
    assert job is not None
    assert job.title == "two"  # the failed write left nothing; the later one landed


async def test_a_write_cancelled_before_its_turn_is_not_run(store: Store) -> None:
    _, page_id = await running_job(store)
    combiner = WriteCombiner(store.engines.writer.begin)
    ran: list[str] = []

    def op(name: str):  # type: ignore[no-untyped-def]
        async def run(conn: AsyncConnection) -> str:
            ran.append(name)
            await conn.execute(select(crawled_pages.c.id).where(crawled_pages.c.id == page_id))
            await asyncio.sleep(0.05)
            return name

        return run

    first = asyncio.create_task(combiner.run(op("first")))
    await asyncio.sleep(0.01)  # "first" is running: the next two wait for the next batch
    second = asyncio.create_task(combiner.run(op("second")))
    third = asyncio.create_task(combiner.run(op("third")))
    await asyncio.sleep(0)
    second.cancel()
    assert await first == "first"
    assert await third == "third"
    with pytest.raises(asyncio.CancelledError):
        await second
    await combiner.drain()
    assert ran == ["first", "third"]


async def test_a_group_of_page_writes_is_written_as_one_after_the_other(store: Store) -> None:
    """Within one group: a write whose lease was lost writes nothing, a second write of the
    same page finds it completed, and a link found at a smaller depth by a later page lowers
    the depth of the row the first page inserted (keeping the first page's order key)."""
    job_id, root_id = await running_job(store)
    root = await store.claim_page(job_id, root_id, "w", 60)
    assert root is not None
    children = [page(f"https://docs.example.com/c{i}", 1, f"{i:06d}", root_id) for i in range(3)]
    ids = [t.page_id for t in (await store.complete_page(root, outcome(root.url), children)).tasks]
    stale = await store.claim_page(job_id, ids[0], "old", 0.0)  # type: ignore[arg-type]
    assert stale is not None
    await asyncio.sleep(0.01)
    c0, c1, c2 = await asyncio.gather(
        store.claim_page(job_id, ids[0], "w", 60),  # type: ignore[arg-type]
        store.claim_page(job_id, ids[1], "w", 60),  # type: ignore[arg-type]
        store.claim_page(job_id, ids[2], "w", 60),  # type: ignore[arg-type]
    )
    assert c0 is not None
    assert c1 is not None
    assert c2 is not None
    deep = "https://docs.example.com/deep"
    c2_deeper = replace(c2, depth=3)  # as if /c2 had been reached at depth 3
    writes = await asyncio.gather(
        store.complete_page(stale, outcome(stale.url), []),  # lease taken over by "w"
        store.complete_page(c2_deeper, outcome(c2.url, (deep,)), [page(deep, 4, "900000", c2.id)]),
        store.complete_page(c1, outcome(c1.url, (deep,)), [page(deep, 2, "800000", c1.id)]),
        store.complete_page(c2, outcome(c2.url), []),  # the same page again: already completed
        store.complete_page(c0, outcome(c0.url), []),
    )
    assert [w.written for w in writes] == [False, True, True, False, True]
    assert len(writes[1].tasks) == 1
    assert writes[2].tasks == []
    pages = {p.url: p for p in await store.pages(job_id)}
    assert pages[deep].depth == 2  # the smaller depth, from /c1
    assert pages[deep].order_key == "900000"  # the first finder's key
    job = await store.get_job(job_id)
    assert job is not None
    assert (job.pages_discovered, job.pages_completed) == (5, 4)
