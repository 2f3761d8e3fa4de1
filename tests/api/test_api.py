"""The V5 API over a real socket: validation, the guard, isolation, cancel/delete, limits."""

from __future__ import annotations

import re

import httpx
import pytest
from httpx_sse import aconnect_sse

from docspasta.settings import Settings
from tests.api.conftest import Service, start_service, stop_service
from tests.support.http import FixtureServer
from tests.support.sites import EXPECTED_ORDER, serve_guide, source_paths

UUID = "0b0b0b0b-1111-4222-8333-444444444444"


async def read_to_end(
    client: httpx.AsyncClient, job_id: str, last_id: str | None = None
) -> list[tuple[str, str]]:
    headers = {"Last-Event-ID": last_id} if last_id else {}
    events: list[tuple[str, str]] = []
    async with aconnect_sse(client, "GET", f"/api/v5/jobs/{job_id}/stream", headers=headers) as sse:
        async for event in sse.aiter_sse():
            events.append((event.event, event.id))
    return events


async def test_crawl_accepted_then_streamed_to_completion(
    service: Service, fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server)
    async with service.client() as client:
        answer = await client.post(
            "/api/v5/crawl", json={"url": start, "options": {"maxPages": 50}}
        )
        assert answer.status_code == 202, answer.text
        body = answer.json()
        job_id = body["jobId"]
        assert body["links"]["stream"] == f"/api/v5/jobs/{job_id}/stream"
        events = await read_to_end(client, job_id)
        assert events[-1][0] == "completed"
        ids = [int(i) for _, i in events]
        assert ids == sorted(set(ids))  # one event per state_version, increasing
        assert all(kind == "progress" for kind, _ in events[:-1])
        job = (await client.get(f"/api/v5/jobs/{job_id}")).json()
        assert job["status"] == "completed"
        assert job["progress"]["completed"] == len(EXPECTED_ORDER)
        assert job["options"]["maxPages"] == 50
        markdown = await client.get(f"/api/v5/jobs/{job_id}/markdown")
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert re.search(
        r'filename="127\.0\.0\.1-docs-guide\.md"', markdown.headers["content-disposition"]
    )
    assert markdown.text == job["markdown"]
    assert source_paths(markdown.text, fixture_server.base_url) == EXPECTED_ORDER


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"url": "http://127.0.0.1/x", "options": {"maxPages": 0}}, 422, "options.maxPages"),
        ({"url": "http://127.0.0.1/x", "options": {"maxPages": 999999}}, 422, "options.maxPages"),
        ({"url": "http://127.0.0.1/x", "options": {"bogusOption": 1}}, 422, "options.bogusOption"),
        ({"url": "ftp://example.com/"}, 422, "url"),
        ({"options": {}}, 422, "url"),
        ({"url": "http://10.0.0.1/docs/"}, 400, "url"),
        ({"url": "http://169.254.169.254/latest/"}, 400, "url"),
    ],
)
async def test_bad_crawl_requests_name_the_field_and_create_nothing(
    service: Service, payload: dict[str, object], status: int, field: str
) -> None:
    async with service.client() as client:
        answer = await client.post("/api/v5/crawl", json=payload)
        assert answer.status_code == status, answer.text
        error = answer.json()["error"]
        assert error["field"] == field
        assert "Traceback" not in answer.text
        assert (await client.get("/api/v5/jobs")).json()["jobs"] == []


async def test_malformed_and_unknown_job_ids(service: Service) -> None:
    async with service.client() as client:
        assert (await client.get("/api/v5/jobs/not-a-uuid")).status_code == 422
        missing = await client.get(f"/api/v5/jobs/{UUID}")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        assert (await client.get(f"/api/v5/jobs/{UUID}/stream")).status_code == 404


async def test_another_users_job_is_404_on_every_route(
    service: Service, keys: dict[str, str], fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server, {"/docs/guide/": 0.5})
    async with service.client(key=keys["alice"]) as alice, service.client(key=keys["bob"]) as bob:
        job_id = (await alice.post("/api/v5/crawl", json={"url": start})).json()["jobId"]
        base = f"/api/v5/jobs/{job_id}"
        for method, path in [
            ("GET", base),
            ("GET", f"{base}/markdown"),
            ("GET", f"{base}/stream"),
            ("POST", f"{base}/cancel"),
            ("DELETE", base),
        ]:
            answer = await bob.request(method, path)
            assert answer.status_code == 404, (method, path, answer.status_code)
        assert (await bob.get("/api/v5/jobs")).json()["jobs"] == []
        assert [j["id"] for j in (await alice.get("/api/v5/jobs")).json()["jobs"]] == [job_id]
        assert (await alice.get(base)).status_code == 200
        bad = await service.client(key="dp_wrong").__aenter__()
        try:
            assert (await bad.get("/api/v5/jobs")).status_code == 401
        finally:
            await bad.aclose()


async def test_cancel_then_delete(service: Service, fixture_server: FixtureServer) -> None:
    start = serve_guide(fixture_server, {p: 1.0 for p in EXPECTED_ORDER[1:]})
    async with service.client() as client:
        job_id = (await client.post("/api/v5/crawl", json={"url": start})).json()["jobId"]
        base = f"/api/v5/jobs/{job_id}"
        assert (await client.delete(base)).status_code == 409  # still running
        cancelled = await client.post(f"{base}/cancel")
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"
        events = await read_to_end(client, job_id)
        assert [kind for kind, _ in events] == ["cancelled"]
        assert (await client.post(f"{base}/cancel")).status_code == 409
        assert (await client.delete(base)).status_code == 204
        assert (await client.get(base)).status_code == 404


async def test_job_creations_are_rate_limited(
    service_settings: Settings, fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server)
    running, task = await start_service(
        service_settings.model_copy(update={"max_jobs_per_minute": 2})
    )
    try:
        async with running.client() as client:
            for _ in range(2):
                assert (await client.post("/api/v5/crawl", json={"url": start})).status_code == 202
            limited = await client.post("/api/v5/crawl", json={"url": start})
            assert limited.status_code == 429
            assert 1 <= int(limited.headers["retry-after"]) <= 60
            assert limited.json()["error"]["code"] == "rate_limited"
    finally:
        await stop_service(running, task)


async def test_listing_is_newest_first_and_paginated(
    service: Service, fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server)
    async with service.client() as client:
        ids = [
            (await client.post("/api/v5/crawl", json={"url": start})).json()["jobId"]
            for _ in range(3)
        ]
        first = (await client.get("/api/v5/jobs", params={"limit": 2})).json()
        assert [j["id"] for j in first["jobs"]] == ids[::-1][:2]
        second = (
            await client.get("/api/v5/jobs", params={"limit": 2, "cursor": first["nextCursor"]})
        ).json()
        assert [j["id"] for j in second["jobs"]] == ids[:1]
        assert second["nextCursor"] is None
        for job_id in ids:
            await read_to_end(client, job_id)
        assert (await client.get("/api/v5/jobs", params={"status": "active"})).json()["jobs"] == []
        assert (await client.get("/api/v5/jobs", params={"cursor": "garbage!"})).status_code == 422


async def test_health_and_metrics(service: Service, fixture_server: FixtureServer) -> None:
    start = serve_guide(fixture_server)
    async with service.client() as client:
        assert (await client.get("/healthz")).json()["status"] == "ok"
        job_id = (await client.post("/api/v5/crawl", json={"url": start})).json()["jobId"]
        await read_to_end(client, job_id)
        metrics = (await client.get("/metrics")).text
    completed = re.search(r'^docspasta_pages_total\{outcome="completed"\} (\S+)$', metrics, re.M)
    assert completed is not None
    assert float(completed.group(1)) == len(EXPECTED_ORDER)
    assert 'docspasta_jobs_total{status="completed"} 1.0' in metrics
    assert "docspasta_sse_db_queries_total" in metrics
    assert "docspasta_fetch_seconds_bucket" in metrics
    assert "user" not in metrics.lower()


async def test_anonymous_browsers_are_isolated_by_signed_cookie(
    service_settings: Settings, keys: dict[str, str], fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server)
    running, task = await start_service(service_settings)  # keys exist: no local user
    try:
        async with running.client() as first, running.client() as second:
            created = await first.post("/api/v5/crawl", json={"url": start})
            assert created.status_code == 202
            cookie = created.headers["set-cookie"].lower()
            assert "httponly" in cookie
            assert "samesite=lax" in cookie
            job_id = created.json()["jobId"]
            assert (await first.get(f"/api/v5/jobs/{job_id}")).status_code == 200
            assert (await second.get(f"/api/v5/jobs/{job_id}")).status_code == 404
            first.cookies.set("docspasta_user", "forged.value")
            assert (await first.get(f"/api/v5/jobs/{job_id}")).status_code == 404
    finally:
        await stop_service(running, task)


async def test_private_headers_and_cookies_are_never_returned(
    service: Service, fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server)
    secret = "Bearer s3cr3t-token-value"
    async with service.client() as client:
        created = await client.post(
            "/api/v5/crawl",
            json={
                "url": start,
                "options": {"headers": {"Authorization": secret}, "cookies": {"session": "c00kie"}},
            },
        )
        assert created.status_code == 202, created.text
        job_id = created.json()["jobId"]
        await read_to_end(client, job_id)
        detail = await client.get(f"/api/v5/jobs/{job_id}")
        listing = await client.get("/api/v5/jobs")
    assert detail.json()["options"]["headers"] == {"Authorization": "<redacted>"}
    assert detail.json()["options"]["cookies"] == {"session": "<redacted>"}
    for answer in (created, detail, listing):
        assert "s3cr3t" not in answer.text
        assert "c00kie" not in answer.text
    # ...while the crawl itself did send them to the docs host.
    sent = [h.get("authorization") for h in fixture_server.request_headers]
    assert secret in sent
