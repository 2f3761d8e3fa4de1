"""``GET /api/v5/jobs/{id}/markdown?format=``: other renderings of the same stored pages, and
``?maxTokens=N[&part=K]``: the CLI's token-budget split, its index and each part."""

from __future__ import annotations

import itertools
import json
import re
from urllib.parse import urljoin

import httpx

from docspasta.cli.output import render_job
from docspasta.core.renderings import RenderedFile
from docspasta.core.tokens import count_tokens
from docspasta.domain import TokenEncoding
from docspasta.settings import Settings
from docspasta.store import Store
from tests.api.conftest import Service
from tests.api.test_api import read_to_end
from tests.support.http import FixtureServer
from tests.support.sites import EXPECTED_ORDER, serve_guide, source_paths

#: A budget that splits the guide site into several parts, some pages across two.
BUDGET = 150
#: The CLI's stem for ``-o 127.0.0.1-docs-guide.md``, the API's download name for this site.
STEM = "127.0.0.1-docs-guide"
_PART_LINK = re.compile(r"^- \[Part (\d+)\]\(([^)]+)\)", re.MULTILINE)


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


async def _crawled(client: httpx.AsyncClient, start: str) -> str:
    job_id: str = (await client.post("/api/v5/crawl", json={"url": start})).json()["jobId"]
    assert (await read_to_end(client, job_id))[-1][0] == "completed"
    return job_id


async def _cli_split(
    settings: Settings, job_id: str, max_tokens: int
) -> tuple[list[RenderedFile], TokenEncoding]:
    """The files ``docspasta crawl --max-tokens`` writes for the job, and its token encoding."""
    store = await Store.open(settings.database_url)
    try:
        job = await store.get_job(job_id)
        assert job is not None
        rendering = await render_job(store, job, "markdown", max_tokens, STEM)
        return list(rendering.files), job.options.token_encoding
    finally:
        await store.close()


async def test_split_index_and_parts_are_the_clis(
    service: Service, fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server)
    async with service.client() as client:
        job_id = await _crawled(client, start)
        url = f"/api/v5/jobs/{job_id}/markdown"
        index = await client.get(url, params={"maxTokens": BUDGET})
        again = await client.get(url, params={"maxTokens": BUDGET})
        assert index.status_code == 200, index.text
        links = _PART_LINK.findall(index.text)
        parts = [await client.get(urljoin(str(index.url), link)) for _, link in links]
    (cli_index, *cli_parts), encoding = await _cli_split(service.settings, job_id, BUDGET)

    assert len(cli_parts) > 2
    assert [int(number) for number, _ in links] == list(range(1, len(cli_parts) + 1))
    assert [link for _, link in links] == [
        f"{url}?maxTokens={BUDGET}&part={k}" for k in range(1, len(cli_parts) + 1)
    ]
    expected = cli_index.content
    for (_, link), cli_part in zip(links, cli_parts, strict=True):
        expected = expected.replace(f"]({cli_part.path})", f"]({link})")
    assert index.text == expected  # the CLI's index, its file names made the parts' URLs
    assert again.content == index.content
    assert index.headers["content-type"].startswith("text/markdown")
    assert f'filename="{STEM}.md"' in index.headers["content-disposition"]

    sources: list[str] = []
    for k, (part, cli_part) in enumerate(zip(parts, cli_parts, strict=True), start=1):
        assert part.status_code == 200, part.text
        assert part.text == cli_part.content  # byte for byte the CLI's .part-00K.md
        assert count_tokens(part.text, encoding) <= BUDGET
        assert part.headers["content-type"].startswith("text/markdown")
        assert f'filename="{cli_part.path}"' in part.headers["content-disposition"]
        assert cli_part.path == f"{STEM}.part-{k:03d}.md"
        link = part.headers["link"]
        assert f'<{url}?maxTokens={BUDGET}>; rel="index"' in link
        assert ('rel="prev"' in link) == (k > 1)
        assert ('rel="next"' in link) == (k < len(parts))
        sources += source_paths(part.text, fixture_server.base_url)
    # every page's Source line, in document order (a page continued in the next part repeats it)
    assert [path for path, _ in itertools.groupby(sources)] == EXPECTED_ORDER


async def test_split_refusals_name_the_field(
    service: Service, fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server)
    async with service.client() as client:
        job_id = await _crawled(client, start)
        url = f"/api/v5/jobs/{job_id}/markdown"
        total = len(_PART_LINK.findall((await client.get(url, params={"maxTokens": BUDGET})).text))
        cases: list[tuple[dict[str, object], int, str, str]] = [
            ({"maxTokens": BUDGET, "format": "llms-txt"}, 422, "maxTokens", "format=markdown"),
            ({"maxTokens": BUDGET, "format": "jsonl"}, 422, "maxTokens", "format=markdown"),
            ({"part": 1}, 422, "part", "needs maxTokens"),
            ({"maxTokens": BUDGET, "part": 0}, 422, "part", ""),
            ({"maxTokens": "many"}, 422, "maxTokens", ""),
            ({"maxTokens": 10}, 422, "maxTokens", "at least 64"),
            ({"maxTokens": 70}, 422, "maxTokens", "cannot hold a part's header and text"),
            ({"maxTokens": BUDGET, "part": total + 1}, 404, "part", f"has {total} parts"),
            ({"maxTokens": BUDGET, "part": 10**9}, 404, "part", f"part {10**9} not found"),
        ]
        for params, status, field, reason in cases:
            answer = await client.get(url, params=params)
            assert answer.status_code == status, (params, answer.text)
            error = answer.json()["error"]
            assert error["field"] == field, (params, error)
            assert error["code"] == ("not_found" if status == 404 else "invalid")
            assert reason in error["message"], (params, error)
            assert "Traceback" not in answer.text


#: Valid and invalid split requests alike: another user's job is a 404 before anything else.
OTHERS_REQUESTS: list[dict[str, object]] = [
    {"maxTokens": BUDGET},
    {"maxTokens": BUDGET, "part": 1},
    {"maxTokens": BUDGET, "part": 99},
    {"maxTokens": 10},
    {"part": 1},
    {"maxTokens": BUDGET, "format": "jsonl"},
]


async def test_another_users_split_is_404(
    service: Service, keys: dict[str, str], fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server, {"/docs/guide/": 0.5})
    async with service.client(key=keys["alice"]) as alice, service.client(key=keys["bob"]) as bob:
        job_id = (await alice.post("/api/v5/crawl", json={"url": start})).json()["jobId"]
        url = f"/api/v5/jobs/{job_id}/markdown"
        running = await alice.get(url, params={"maxTokens": BUDGET, "part": 1})
        assert running.status_code == 409, running.text
        assert running.json()["error"]["code"] == "conflict"
        assert (await read_to_end(alice, job_id))[-1][0] == "completed"
        for params in OTHERS_REQUESTS:
            theirs = await bob.get(url, params=params)
            assert theirs.status_code == 404, (params, theirs.text)
            assert theirs.json()["error"] == {
                "code": "not_found",
                "message": "job not found",
                "field": None,
            }
        assert (await alice.get(url, params={"maxTokens": BUDGET, "part": 1})).status_code == 200
