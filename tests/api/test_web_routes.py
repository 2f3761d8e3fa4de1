"""The web page's routes: the page and its files, and a job's pages in document order."""

from __future__ import annotations

from httpx_sse import aconnect_sse

from tests.api.conftest import Service
from tests.support.http import FixtureServer
from tests.support.sites import EXPECTED_ORDER, serve_guide


async def test_the_page_and_its_files_are_served_from_this_origin_only(service: Service) -> None:
    async with service.client() as client:
        page = await client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "script-src 'self'" in policy
        for name, kind in [
            ("app.js", "javascript"),
            ("markdown.js", "javascript"),
            ("app.css", "text/css"),
            ("icon.svg", "image/svg+xml"),
        ]:
            assert f"/static/{name}" in page.text
            answer = await client.get(f"/static/{name}")
            assert answer.status_code == 200, name
            assert kind in answer.headers["content-type"], name
        assert (await client.get("/static/nothing.js")).status_code == 404
        schema = (await client.get("/openapi.json")).json()
        assert "/" not in schema["paths"]


async def test_pages_in_document_order_for_their_owner_only(
    service: Service, fixture_server: FixtureServer, keys: dict[str, str]
) -> None:
    start = serve_guide(fixture_server)
    async with service.client(key=keys["alice"]) as alice, service.client(key=keys["bob"]) as bob:
        answer = await alice.post("/api/v5/crawl", json={"url": start})
        job_id = answer.json()["jobId"]
        async with aconnect_sse(alice, "GET", f"/api/v5/jobs/{job_id}/stream") as sse:
            assert [e.event async for e in sse.aiter_sse()][-1] == "completed"
        pages = (await alice.get(f"/api/v5/jobs/{job_id}/pages")).json()["pages"]
        other = await bob.get(f"/api/v5/jobs/{job_id}/pages")
    assert [p["url"].removeprefix(fixture_server.base_url) for p in pages] == EXPECTED_ORDER
    assert all(p["status"] == "completed" and p["tokens"] > 0 for p in pages)
    assert all(p["fidelityWarnings"] == [] for p in pages)
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
