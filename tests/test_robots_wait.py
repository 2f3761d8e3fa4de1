"""robots.txt answering a server error: nothing is crawled "for a while" (RFC 9309), robots.txt
is asked again, and the crawl starts once it answers; it fails after the longest wait."""

from __future__ import annotations

import pytest

from docspasta.domain import CrawlOptions, JobStatus
from docspasta.fetch import Fetcher
from docspasta.queue.local import LocalQueue
from docspasta.runtime import create_job, fetch_config, open_store, run_job
from docspasta.settings import Settings
from docspasta.worker import Worker
from tests.support.http import FixtureServer, Route
from tests.support.sites import EXPECTED_ORDER, ROBOTS, serve_guide, source_paths

ERROR = Route(b"down for maintenance", 503, "text/plain")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"robots_retry_seconds": 0.2, "robots_max_wait_seconds": 30.0}
    )


async def test_the_crawl_waits_for_robots_txt_and_then_obeys_it(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    good = Route(ROBOTS.encode(), 200, "text/plain")
    fixture_server.add_sequence("/robots.txt", [ERROR, ERROR, good])
    async with open_store(settings) as store:
        job_id = await create_job(store, start, CrawlOptions(concurrency=4), settings)
        run = await run_job(store, job_id, settings)
    assert run.job.status is JobStatus.COMPLETED, run.job.status_message
    assert run.job.status_message is None
    assert run.markdown is not None
    assert source_paths(run.markdown, fixture_server.base_url) == EXPECTED_ORDER
    requests = fixture_server.requests
    robots = [i for i, path in enumerate(requests) if path == "/robots.txt"]
    assert len(robots) == 3
    # Nothing else was asked before robots.txt answered, and what it disallows is not asked.
    assert all(path == "/robots.txt" for path in requests[: robots[-1]])
    assert "/docs/guide/private/secret.html" not in requests


async def test_a_robots_txt_that_keeps_failing_fails_the_job_with_the_reason(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    fixture_server.add_sequence("/robots.txt", [ERROR])
    settings = settings.model_copy(update={"robots_max_wait_seconds": 0.7})
    async with open_store(settings) as store:
        job_id = await create_job(store, start, CrawlOptions(), settings)
        run = await run_job(store, job_id, settings)
    assert run.job.status is JobStatus.FAILED
    assert run.job.status_message is not None
    assert run.job.status_message.startswith("robots.txt answered a server error for ")
    assert "disallowed (RFC 9309)" in run.job.status_message
    assert set(fixture_server.requests) == {"/robots.txt"}
    assert 2 <= len(fixture_server.requests) <= 6


async def test_a_waiting_job_says_why_and_stays_pending(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    fixture_server.add_sequence("/robots.txt", [ERROR])
    settings = settings.model_copy(update={"robots_retry_seconds": 60.0})
    async with open_store(settings) as store:
        job_id = await create_job(store, start, CrawlOptions(), settings)
        queue = LocalQueue(concurrency=1)
        async with Fetcher(fetch_config(settings)) as fetcher:
            await Worker(store, fetcher, queue, settings).start_crawl(job_id)
        await queue.stop()
        job = await store.get_job(job_id)
        cancelled = await store.cancel_job(job_id, None)
    assert job is not None
    assert job.status is JobStatus.PENDING
    assert job.status_message is not None
    assert "robots.txt answered a server error" in job.status_message
    assert cancelled is not None
    assert cancelled.status is JobStatus.CANCELLED
