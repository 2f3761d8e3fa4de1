"""The Python API as a user calls it: ``import docspasta``, a real local docs site, SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

import docspasta
from docspasta.settings import Settings
from tests.support.http import FixtureServer
from tests.support.sites import EXPECTED_ORDER, serve_guide, source_paths


async def test_crawl_returns_the_document_with_its_pages_and_progress(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    seen: list[docspasta.ProgressSnapshot] = []

    async def on_progress(snapshot: docspasta.ProgressSnapshot) -> None:
        seen.append(snapshot)

    doc = await docspasta.crawl(start, settings=settings, on_progress=on_progress, max_depth=5)

    assert doc.status == "completed"
    assert [p.url.removeprefix(fixture_server.base_url) for p in doc.pages] == EXPECTED_ORDER
    assert source_paths(doc.markdown, fixture_server.base_url) == EXPECTED_ORDER
    assert [p.index for p in doc.pages] == list(range(1, len(EXPECTED_ORDER) + 1))
    assert doc.pages[1].title == "Introduction"
    assert "def hello():" in doc.pages[1].markdown
    assert all(p.tokens > 0 for p in doc.pages)
    assert doc.tokens > sum(p.tokens for p in doc.pages)  # the contents and section headers
    assert doc.options.max_depth == 5
    assert not doc.reused
    assert seen[-1].status == "completed"
    assert seen[-1].pages_completed == len(EXPECTED_ORDER)
    assert [s.state_version for s in seen] == sorted({s.state_version for s in seen})


async def test_reuse_takes_the_stored_crawl_of_the_same_url_and_options(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    first = await docspasta.crawl(start, settings=settings, max_pages=3)
    requests = len(fixture_server.requests)

    again = await docspasta.crawl(start, settings=settings, max_pages=3, reuse=True)
    assert again.reused
    assert again.job_id == first.job_id
    assert again.markdown == first.markdown
    assert len(fixture_server.requests) == requests  # nothing fetched

    other = await docspasta.crawl(start, settings=settings, max_pages=2, reuse=True)
    assert not other.reused
    assert len(other.pages) == 2


def test_crawl_sync_with_an_explicit_private_host(
    fixture_server: FixtureServer, sqlite_url: str
) -> None:
    start = serve_guide(fixture_server)
    closed = Settings(database_url=sqlite_url, allow_private_hosts=frozenset(), politeness=False)
    with pytest.raises(docspasta.BlockedURLError):
        docspasta.crawl_sync(start, settings=closed)

    doc = docspasta.crawl_sync(start, settings=closed, allow_private_hosts=["127.0.0.1"])
    assert len(doc.pages) == len(EXPECTED_ORDER)
    page = doc.page(f"{fixture_server.base_url}/docs/guide/usage.html")
    assert page is not None
    assert page.index == 4
    assert "| -o   | output  |" in page.markdown


async def test_bad_options_and_refused_urls_raise_from_the_error_tree(
    settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(docspasta.InvalidOptionError) as bad:
        await docspasta.crawl("https://docs.example.com/", settings=settings, max_pages=0)
    assert bad.value.field == "max_pages"
    with pytest.raises(docspasta.InvalidOptionError) as unknown:
        await docspasta.crawl("https://docs.example.com/", settings=settings, max_pagez=3)
    assert unknown.value.field == "max_pagez"
    with pytest.raises(docspasta.BlockedURLError):
        await docspasta.crawl("http://10.0.0.1/docs/", settings=settings)
    with pytest.raises(docspasta.DocspastaError):
        await docspasta.map("http://169.254.169.254/latest/", settings=settings)


async def test_map_lists_taken_and_left_out_urls(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    site = await docspasta.map(start, settings=settings)
    taken = {url.removeprefix(fixture_server.base_url) for url in site.taken}
    assert taken == set(EXPECTED_ORDER)
    reasons = dict(site.left_out)
    assert any("robots" in reason for reason in reasons.values())


async def test_excerpt_search_and_pages_of_a_document(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    doc = await docspasta.crawl(serve_guide(fixture_server), settings=settings)

    whole = doc.excerpt(doc.tokens)
    assert whole.complete
    assert whole.text == doc.markdown

    part = doc.excerpt(doc.tokens - 1)
    assert not part.complete
    assert part.tokens <= doc.tokens - 1
    assert 0 < part.pages < len(doc.pages)
    assert "1. [Guide]" in part.text

    hits = doc.search("pip install")
    assert [(h.page, h.title) for h in hits] == [(3, "Installation")]
    assert doc.search("REFERENCE")[0].in_heading  # the page's own heading ranks first
    assert doc.search("no such words") == []
    assert doc.page(99) is None
