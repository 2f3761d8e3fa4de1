"""The whole job pipeline (job row -> start-crawl -> pages -> finalize) on real local servers."""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter

import pytest
from sqlalchemy import func, select, update

from docspasta.core.boilerplate import block_keys, unpack_keys
from docspasta.core.renderings import document_title, render_markdown
from docspasta.domain import CrawlOptions, JobStatus, PageStatus, Task, TaskKind
from docspasta.fetch import Fetcher
from docspasta.queue.local import LocalQueue
from docspasta.runtime import create_job, fetch_config, open_store, run_job
from docspasta.settings import Settings
from docspasta.store import Store
from docspasta.store.schema import crawled_pages, page_content_chunks
from docspasta.worker import Worker
from tests.support.http import FixtureServer
from tests.support.sites import EXPECTED_ORDER, page, serve_guide, source_paths
from tests.support.waiting import eventually

OPTIONS = CrawlOptions(concurrency=4)


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    """The worker suite runs on each backend: an SQLite file and a PostgreSQL database."""
    return settings.model_copy(update={"database_url": database_url})


async def crawl(store: Store, url: str, settings: Settings, options: CrawlOptions = OPTIONS) -> str:
    job_id = await create_job(store, url, options, settings)
    run = await run_job(store, job_id, settings)
    assert run.job.status is JobStatus.COMPLETED, run.job.status_message
    assert run.markdown is not None
    return run.markdown


async def test_crawl_takes_exactly_the_in_scope_pages_in_document_order(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    async with open_store(settings) as store:
        markdown = await crawl(store, start, settings)
    assert source_paths(markdown, fixture_server.base_url) == EXPECTED_ORDER
    requested = set(fixture_server.requests)
    assert "/docs/guide/private/secret.html" not in requested  # robots.txt
    assert "/blog/" not in requested  # out of scope
    assert "/docs/guide/logo.png" not in requested  # not a page
    # Every page is fetched once; the tracking parameter was stripped before fetching.
    discovery = {"robots.txt", "llms.txt", "llms-full.txt", "sitemap.xml"}
    page_requests = [r for r in fixture_server.requests if r.rsplit("/", 1)[1] not in discovery]
    assert sorted(page_requests) == sorted(EXPECTED_ORDER)
    assert "```python" in markdown  # Sphinx's highlight-python3 wrapper
    assert re.search(r"^\| -o +\| output +\|$", markdown, re.MULTILINE)
    assert "© Example" not in markdown
    assert markdown.startswith("# Guide")


async def test_two_crawls_give_byte_identical_documents(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    rng = random.Random(7)
    delays = {path: rng.uniform(0, 0.15) for path in EXPECTED_ORDER}
    start = serve_guide(fixture_server, delays)
    async with open_store(settings) as store:
        first = await crawl(store, start, settings)
        # Different timing: no delays at all, more concurrency.
        serve_guide(fixture_server)
        second = await crawl(store, start, settings, CrawlOptions(concurrency=8))
    assert first == second


async def test_duplicate_tasks_create_no_duplicate_pages_or_chunks(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    async with open_store(settings) as store:
        job_id = await create_job(store, start, OPTIONS, settings)
        queue = LocalQueue(concurrency=4)
        async with Fetcher(fetch_config(settings)) as fetcher:
            worker = Worker(store, fetcher, queue, settings)

            async def every_task_three_times(task: Task) -> None:
                await asyncio.gather(*(worker.handle(task) for _ in range(3)))

            await queue.start(every_task_three_times)
            await worker.sweep(older_than=0, job_id=job_id)
            await eventually(lambda: store.is_terminal(job_id))
            await queue.wait_idle()
            # Late duplicates of every task after the end change nothing.
            version = await store.state_version(job_id)
            pages = await store.pages(job_id)
            await queue.publish(
                [Task(kind=TaskKind.PROCESS_PAGE, job_id=job_id, page_id=p.id) for p in pages]
                + [Task(kind=TaskKind.START_CRAWL, job_id=job_id)]
                + [Task(kind=TaskKind.FINALIZE, job_id=job_id)]
            )
            await queue.wait_idle()
            await queue.stop()
        assert await store.state_version(job_id) == version
        async with store.engines.reader.connect() as conn:
            urls = (
                (
                    await conn.execute(
                        select(crawled_pages.c.url).where(crawled_pages.c.job_id == job_id)
                    )
                )
                .scalars()
                .all()
            )
            chunks = (
                await conn.execute(select(func.count()).select_from(page_content_chunks))
            ).scalar_one()
        job = await store.get_job(job_id)
    assert job is not None
    assert job.status is JobStatus.COMPLETED
    assert len(urls) == len(set(urls)) == len(EXPECTED_ORDER)
    assert chunks == len(EXPECTED_ORDER)
    assert job.pages_completed == len(EXPECTED_ORDER)
    counts = Counter(fixture_server.requests)
    assert all(counts[path] == 1 for path in EXPECTED_ORDER), counts


async def crawl_held_at_finalize(
    store: Store, fetcher: Fetcher, settings: Settings, job_id: str
) -> Worker:
    """Run the job's pages with a worker that holds its finalize task back; returns that worker
    once the job is finalizing (its queue stopped)."""
    queue = LocalQueue(concurrency=4)
    worker = Worker(store, fetcher, queue, settings)

    async def hold_back_finalize(task: Task) -> None:
        if task.kind is not TaskKind.FINALIZE:
            await worker.handle(task)

    await queue.start(hold_back_finalize)
    await worker.sweep(older_than=0, job_id=job_id)

    async def finalizing() -> bool:
        job = await store.get_job(job_id)
        return job is not None and job.status is JobStatus.FINALIZING

    await eventually(finalizing)
    await queue.stop()
    return worker


async def test_racing_finalizers_finalize_once(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    async with open_store(settings) as store:
        reference = await crawl(store, start, settings)
        job_id = await create_job(store, start, OPTIONS, settings)
        async with Fetcher(fetch_config(settings)) as fetcher:
            worker = await crawl_held_at_finalize(store, fetcher, settings, job_id)
            before = await store.state_version(job_id)
            assert before is not None
            finalizers = [Worker(store, fetcher, worker.queue, settings) for _ in range(4)]
            await asyncio.gather(*(w.finalize(job_id) for w in finalizers))
        final = await store.get_job(job_id)
        markdown = await store.final_markdown(job_id)
    assert final is not None
    assert final.status is JobStatus.COMPLETED
    assert final.state_version == before + 1  # one transition finalizing -> completed
    assert markdown == reference


async def test_interrupted_crawl_resumes_without_refetching_finished_pages(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server, {path: 0.3 for path in EXPECTED_ORDER[1:]})
    async with open_store(settings) as store:
        job_id = await create_job(store, start, CrawlOptions(concurrency=2), settings)
        running = asyncio.create_task(run_job(store, job_id, settings))

        async def three_done() -> bool:
            job = await store.get_job(job_id)
            return job is not None and job.pages_completed >= 3

        await eventually(three_done)
        running.cancel()  # what Ctrl-C does to the CLI
        await asyncio.gather(running, return_exceptions=True)
        interrupted = await store.get_job(job_id)
        assert interrupted is not None
        assert interrupted.status is JobStatus.RUNNING
        pages = await store.pages(job_id)
        assert all(p.status is not PageStatus.PROCESSING for p in pages)  # leases released
        finished = {
            p.url.removeprefix(fixture_server.base_url)
            for p in pages
            if p.status is PageStatus.COMPLETED
        }
        requested_before = Counter(fixture_server.requests)

        run = await run_job(store, job_id, settings)
    assert run.job.status is JobStatus.COMPLETED
    assert run.markdown is not None
    assert source_paths(run.markdown, fixture_server.base_url) == EXPECTED_ORDER
    requested_after = Counter(fixture_server.requests) - requested_before
    assert not finished & set(requested_after), requested_after
    assert len(finished) >= 3


async def test_failed_page_gives_partial_success_with_the_reason(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    fixture_server.add("/docs/guide/install.html", "gone", status=404)
    async with open_store(settings) as store:
        job_id = await create_job(store, start, OPTIONS, settings)
        run = await run_job(store, job_id, settings)
    assert run.job.status is JobStatus.PARTIAL_SUCCESS
    assert run.failed_pages == [(fixture_server.url("/docs/guide/install.html"), "HTTP 404")]
    assert run.markdown is not None
    assert "/docs/guide/install.html" not in source_paths(run.markdown, fixture_server.base_url)


async def test_max_depth_is_measured_from_the_start_page(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    async with open_store(settings) as store:
        markdown = await crawl(store, start, settings, CrawlOptions(max_depth=1))
    # ref.html is two hops away; every other page is one hop from the start page (the nav).
    assert source_paths(markdown, fixture_server.base_url) == EXPECTED_ORDER[:-1]


async def test_a_local_run_returns_when_its_worker_ends_the_job(
    fixture_server: FixtureServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The in-process worker wakes the waiting run when it finalizes: the run does not wait
    for its next poll (here made longer than the test's time limit)."""
    monkeypatch.setattr("docspasta.runtime.POLL_SECONDS", 600.0)
    monkeypatch.setattr("docspasta.runtime.QUIET_POLL_SECONDS", 600.0)
    start = serve_guide(fixture_server)
    async with open_store(settings) as store:
        job_id = await create_job(store, start, OPTIONS, settings)
        async with asyncio.timeout(30):
            run = await run_job(store, job_id, settings)
    assert run.job.status is JobStatus.COMPLETED
    assert run.markdown is not None
    assert source_paths(run.markdown, fixture_server.base_url) == EXPECTED_ORDER


HELPFUL = "Was this page helpful? Tell us on the forum."


def serve_site_with_boilerplate(server: FixtureServer) -> str:
    """Six pages whose content ends with the same feedback line (boilerplate)."""
    titles = ["Home", "One", "Two", "Three", "Four", "Five"]
    links = "".join(f"<a href='p{i}.html'>{t}</a>" for i, t in enumerate(titles) if i)
    for i, title in enumerate(titles):
        body = f"<p>{title} explains part {i} of the tool.</p><p>{HELPFUL}</p>"
        path = "/site/" if i == 0 else f"/site/p{i}.html"
        server.add(path, page(title, body + (links if i == 0 else "")))
    return server.url("/site/")


async def test_finalize_uses_the_keys_stored_with_each_page(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    """Each page is stored with its block keys; finalize counts boilerplate from them, and
    computes them from the markdown for a page stored without (an older version's)."""
    start = serve_site_with_boilerplate(fixture_server)
    async with open_store(settings) as store:
        reference = await crawl(store, start, settings)
        job_id = await create_job(store, start, OPTIONS, settings)
        async with Fetcher(fetch_config(settings)) as fetcher:
            worker = await crawl_held_at_finalize(store, fetcher, settings, job_id)
            async with store.engines.writer.begin() as conn:
                rows = (
                    await conn.execute(
                        select(crawled_pages.c.id, crawled_pages.c.block_keys)
                        .where(crawled_pages.c.job_id == job_id)
                        .order_by(crawled_pages.c.id)
                    )
                ).all()
                await conn.execute(  # half of them as an older version stored them
                    update(crawled_pages)
                    .where(crawled_pages.c.id.in_([row.id for row in rows[::2]]))
                    .values(block_keys=None)
                )
            for row in rows:
                markdown = await store.page_markdown(row.id)
                assert unpack_keys(row.block_keys) == block_keys(markdown)
            await worker.finalize(job_id)
        job = await store.get_job(job_id)
        assert job is not None
        pages = await store.render_pages(job_id)
        markdown = await store.final_markdown(job_id)
    assert job.status is JobStatus.COMPLETED
    assert len(rows) == 6
    assert markdown == reference
    assert markdown == render_markdown(document_title(job.title, job.url), job.url, pages)
    assert all(HELPFUL in p.markdown for p in pages)
    assert HELPFUL not in markdown  # removed as boilerplate
    assert "Three explains part 3" in markdown
