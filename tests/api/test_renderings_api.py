"""``GET /api/v5/jobs/{id}/markdown?format=``: other renderings of the same stored pages."""

from __future__ import annotations

import json

from tests.api.conftest import Service
from tests.api.test_api import read_to_end
from tests.support.http import FixtureServer
from tests.support.sites import EXPECTED_ORDER, serve_guide


async def test_formats_and_content_types(service: Service, fixture_server: FixtureServer) -> None:
    start = serve_guide(fixture_server)
    async with service.client() as client:
        answer = await client.post("/api/v5/crawl", json={"url": start})
        job_id = answer.json()["jobId"]
        assert (await read_to_end(client, job_id))[-1][0] == "completed"
        url = f"/api/v5/jobs/{job_id}/markdown"
        answers = {
            fmt: await client.get(url, params={"format": fmt})
            for fmt in ("markdown", "llms-txt", "llms-full", "jsonl")
        }
        refused = await client.get(url, params={"format": "dir"})
        again = await client.get(url, params={"format": "jsonl"})
    assert answers["markdown"].headers["content-type"].startswith("text/markdown")
    assert answers["llms-txt"].headers["content-type"].startswith("text/plain")
    assert answers["llms-full"].headers["content-type"].startswith("text/plain")
    assert answers["jsonl"].headers["content-type"].startswith("application/x-ndjson")
    assert (
        'filename="127.0.0.1-docs-guide.jsonl"' in answers["jsonl"].headers["content-disposition"]
    )
    rows = [json.loads(line) for line in answers["jsonl"].text.splitlines()]
    assert len(rows) == len(EXPECTED_ORDER)
    assert answers["llms-txt"].text.startswith("# Guide\n")
    assert again.content == answers["jsonl"].content
    assert refused.status_code == 422
    assert refused.json()["error"]["field"]
