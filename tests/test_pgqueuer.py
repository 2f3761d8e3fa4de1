"""The pgqueuer backend on the real PostgreSQL: transactional enqueue, and a crawl by separate
`docspasta worker` processes that survives one of them being SIGKILLed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from httpx_sse import aconnect_sse
from sqlalchemy import text

from docspasta.domain import CrawlOptions, Task, TaskKind
from docspasta.queue.pgqueuer import PgQueuerQueue
from docspasta.runtime import bind_queue, create_job, open_store, run_job
from docspasta.settings import Settings
from docspasta.store import Store
from tests.api.conftest import start_service, stop_service
from tests.support.http import FixtureServer
from tests.support.sites import EXPECTED_ORDER, serve_guide, source_paths
from tests.support.waiting import eventually

pytestmark = pytest.mark.postgres


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def queued(url: str) -> list[str]:
    conn = await asyncpg.connect(dsn(url))
    try:
        rows = await conn.fetch("SELECT dedupe_key FROM pgqueuer ORDER BY id")
    finally:
        await conn.close()
    return [row["dedupe_key"] for row in rows]


async def test_tasks_commit_with_their_rows_or_not_at_all(pg_url: str) -> None:
    settings = Settings(database_url=pg_url, queue="pgqueuer")
    store = await Store.open(pg_url)
    queue = PgQueuerQueue(settings, concurrency=1)
    bind_queue(store, queue)
    try:
        job, to_publish = await store.create_job("u", "https://docs.example.com/", CrawlOptions())
        assert to_publish == []  # nothing left to publish: it was enqueued with the job row
        assert await queued(pg_url) == [f"start-crawl:{job.id}"]
        start = Task(kind=TaskKind.START_CRAWL, job_id=job.id)
        with pytest.raises(RuntimeError, match="the transaction fails"):
            await enqueue_then_fail(store, queue, Task(kind=TaskKind.FINALIZE, job_id=job.id))
        assert await queued(pg_url) == [f"start-crawl:{job.id}"]  # rolled back with it
        async with store.engines.writer.begin() as conn:
            await queue.enqueue_in_transaction(conn, [start, start])  # queued already, twice
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1  # still usable
        assert await queued(pg_url) == [f"start-crawl:{job.id}"]
    finally:
        await queue.stop()
        await store.close()


async def enqueue_then_fail(store: Store, queue: PgQueuerQueue, task: Task) -> None:
    async with store.engines.writer.begin() as conn:
        await queue.enqueue_in_transaction(conn, [task])
        raise RuntimeError("the transaction fails")


def worker_process(url: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCSPASTA_")} | {
        "DOCSPASTA_DATABASE_URL": url,
        "DOCSPASTA_ALLOW_PRIVATE_HOSTS": "127.0.0.1",
        "DOCSPASTA_POLITENESS": "false",
        "DOCSPASTA_ANALYSIS_PROCESSES": "0",
        "DOCSPASTA_PGQUEUER_HEARTBEAT_SECONDS": "2",
        "DOCSPASTA_PAGE_LEASE_SECONDS": "3",
        "DOCSPASTA_SWEEP_INTERVAL_SECONDS": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "docspasta", "worker", "--concurrency", "2", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def workers(pg_url: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    started = [worker_process(pg_url, "--grace", "5") for _ in range(2)]
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


@pytest.mark.timeout(120)
async def test_worker_processes_finish_a_crawl_when_one_is_killed(
    pg_url: str,
    settings: Settings,
    fixture_server: FixtureServer,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    start = serve_guide(fixture_server, {path: 0.4 for path in EXPECTED_ORDER[1:]})
    async with open_store(settings) as reference_store:  # the same site on the local queue
        reference = await run_job(
            reference_store,
            await create_job(reference_store, start, CrawlOptions(), settings),
            settings,
        )
    api_settings = settings.model_copy(
        update={"database_url": pg_url, "queue": "pgqueuer", "sse_poll_seconds": 0.2}
    )
    service, task = await start_service(api_settings, local_workers=0)
    try:
        async with service.client() as client:
            created = await client.post("/api/v5/crawl", json={"url": start})
            assert created.status_code == 202, created.text
            job_id = created.json()["jobId"]

            async def two_pages_done() -> bool:
                job = (await client.get(f"/api/v5/jobs/{job_id}")).json()
                return int(job["progress"]["completed"]) >= 2

            await eventually(two_pages_done, within=60)
            workers[0].kill()  # SIGKILL mid-crawl: its tasks' heartbeats and leases lapse
            final = await follow(client, job_id)
            markdown = (await client.get(f"/api/v5/jobs/{job_id}/markdown")).text
    finally:
        await stop_service(service, task)
    assert final == "completed"
    assert markdown.replace(fixture_server.base_url, "") == (reference.markdown or "").replace(
        fixture_server.base_url, ""
    )
    assert source_paths(markdown, fixture_server.base_url) == EXPECTED_ORDER
    survivor = workers[1]
    survivor.send_signal(signal.SIGTERM)  # graceful: stops claiming, exits
    assert survivor.wait(timeout=30) == 0
    assert b"worker stopped" in (survivor.stderr.read() if survivor.stderr else b"")


async def follow(client: httpx.AsyncClient, job_id: str) -> str:
    async with (
        asyncio.timeout(90),
        aconnect_sse(client, "GET", f"/api/v5/jobs/{job_id}/stream") as sse,
    ):
        events = [event.event async for event in sse.aiter_sse()]
    return events[-1]
