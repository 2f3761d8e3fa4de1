"""The progress stream over a real socket, read by a real SSE client."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
from httpx_sse import aconnect_sse

from docspasta.domain import CrawlOptions
from docspasta.runtime import create_job, open_store, run_job
from docspasta.settings import Settings
from tests.api.conftest import Service, start_service, stop_service
from tests.support.http import FixtureServer
from tests.support.sites import EXPECTED_ORDER, serve_guide

SLOW = {path: 0.3 for path in EXPECTED_ORDER[1:]}


async def post_crawl(client: httpx.AsyncClient, url: str, **options: object) -> str:
    answer = await client.post("/api/v5/crawl", json={"url": url, "options": options})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["jobId"])


async def test_reconnect_with_last_event_id_misses_nothing(
    service: Service, fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server, SLOW)
    async with service.client() as client:
        job_id = await post_crawl(client, start, concurrency=1)
        url = f"/api/v5/jobs/{job_id}/stream"
        seen: list[int] = []
        async with aconnect_sse(client, "GET", url) as sse:
            async for event in sse.aiter_sse():
                assert event.event == "progress"
                seen.append(int(event.id))
                if len(seen) == 2:
                    break  # the network drops
        later: list[tuple[str, int]] = []
        headers = {"Last-Event-ID": str(seen[-1])}
        async with aconnect_sse(client, "GET", url, headers=headers) as sse:
            async for event in sse.aiter_sse():
                later.append((event.event, int(event.id)))
    assert later[0][1] > seen[-1]  # resumed after what was seen, not from the start
    assert later[-1][0] == "completed"
    assert [kind for kind, _ in later[:-1]] == ["progress"] * (len(later) - 1)


async def test_a_finished_job_sends_its_final_state_and_closes(
    service: Service, fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server)
    async with service.client() as client:
        job_id = await post_crawl(client, start)
        url = f"/api/v5/jobs/{job_id}/stream"
        async with aconnect_sse(client, "GET", url) as sse:
            events = [e async for e in sse.aiter_sse()]
        final = events[-1]
        for last_id in (None, final.id, "999999"):
            headers = {"Last-Event-ID": last_id} if last_id else {}
            async with aconnect_sse(client, "GET", url, headers=headers) as sse:
                again = [e async for e in sse.aiter_sse()]
            assert [(e.event, e.id) for e in again] == [("completed", final.id)]
            state = json.loads(again[0].data)
            assert state["status"] == "completed"
            assert state["stateVersion"] == int(final.id)


async def test_subscribers_share_one_poller(
    service: Service, fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server, {p: 0.6 for p in EXPECTED_ORDER[1:]})
    subscribers = 40
    async with service.client() as client:
        job_id = await post_crawl(client, start, concurrency=1)

        async def follow() -> str:
            async with aconnect_sse(client, "GET", f"/api/v5/jobs/{job_id}/stream") as sse:
                return [e.event async for e in sse.aiter_sse()][-1]

        followers = [asyncio.create_task(follow()) for _ in range(subscribers)]
        await asyncio.sleep(1.0)
        hub = service.server._app.state.docspasta.hub
        assert hub.pollers == 1
        before = await sse_queries(client)
        await asyncio.sleep(2.0)
        during = await sse_queries(client) - before
        finals = await asyncio.gather(*followers)
    assert finals == ["completed"] * subscribers
    # One poll (and at most one read) per interval, whatever the number of subscribers.
    interval = service.settings.sse_poll_seconds
    assert during <= 2 * (2.0 / interval) + 2


async def sse_queries(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    match = re.search(r"^docspasta_sse_db_queries_total (\S+)$", text, re.MULTILINE)
    assert match is not None
    return float(match.group(1))


async def test_shutdown_closes_open_streams_promptly(
    service_settings: Settings, fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server, {p: 5.0 for p in EXPECTED_ORDER[1:]})
    running, task = await start_service(service_settings)
    async with running.client() as client:
        job_id = await post_crawl(client, start, concurrency=1)
        events: list[str] = []

        async def follow() -> None:
            async with aconnect_sse(client, "GET", f"/api/v5/jobs/{job_id}/stream") as sse:
                async for event in sse.aiter_sse():
                    events.append(event.event)

        follower = asyncio.create_task(follow())
        await asyncio.sleep(0.5)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await stop_service(running, task)
        async with asyncio.timeout(5):
            await asyncio.gather(follower, return_exceptions=True)
        assert loop.time() - started < 4.0
    assert events
    assert events[0] == "progress"


async def test_api_document_equals_the_cli_document(
    service: Service, fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server)
    async with service.client() as client:
        job_id = await post_crawl(client, start, maxPages=100)
        async with aconnect_sse(client, "GET", f"/api/v5/jobs/{job_id}/stream") as sse:
            assert [e.event async for e in sse.aiter_sse()][-1] == "completed"
        from_api = (await client.get(f"/api/v5/jobs/{job_id}/markdown")).text
    cli_settings = service.settings.model_copy(
        update={"database_url": service.settings.database_url}
    )
    async with open_store(cli_settings) as store:
        cli_job = await create_job(store, start, CrawlOptions(max_pages=100), cli_settings)
        run = await run_job(store, cli_job, cli_settings)
    assert run.markdown == from_api
