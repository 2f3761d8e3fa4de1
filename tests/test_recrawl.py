"""Re-crawls: conditional requests against the same user's previous crawl, 304 → reuse."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from docspasta.core.urls import url_hash
from docspasta.domain import CrawlOptions, JobStatus, PageStatus
from docspasta.fetch import Fetcher, Validators
from docspasta.queue.local import LocalQueue
from docspasta.runtime import LOCAL_USER, create_job, fetch_config, open_store, run_job
from docspasta.settings import Settings
from docspasta.store import Store
from docspasta.store.schema import crawled_pages
from docspasta.worker import Worker
from tests.support.http import FixtureServer
from tests.support.sites import page
from tests.support.waiting import eventually

D = "/docs/"
NAV = "".join(f"<a href='{D}{name}.html'>{name}</a>" for name in ("alpha", "beta", "gamma"))
MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"
OPTIONS = CrawlOptions(concurrency=4)


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    return settings.model_copy(update={"database_url": database_url})


def serve_site(server: FixtureServer, version: dict[str, int] | None = None) -> str:
    """Four pages with an ETag each (version 1 unless ``version`` says otherwise) and a
    Last-Modified; ``/docs/gamma.html`` has only a Last-Modified."""
    version = version or {}
    server.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    bodies = {
        D: ("Docs", "<p>Start with <a href='alpha.html'>alpha</a>.</p>"),
        f"{D}alpha.html": ("Alpha", "<p>Alpha text.</p><pre><code>a = 1\n</code></pre>"),
        f"{D}beta.html": ("Beta", "<table><tr><th>k</th></tr><tr><td>v</td></tr></table>"),
        f"{D}gamma.html": ("Gamma", "<p>Gamma, see <a href='beta.html'>beta</a>.</p>"),
    }
    for path, (title, body) in bodies.items():
        n = version.get(path, 1)
        headers = {"Last-Modified": MODIFIED}
        if not path.endswith("gamma.html"):
            headers["ETag"] = f'"{title.lower()}-v{n}"'
        text = body if n == 1 else body + f"<p>Revision {n}.</p>"
        server.add(path, page(title, text, NAV), headers=headers)
    return server.url(D)


def page_requests(server: FixtureServer, since: int = 0) -> list[tuple[str, dict[str, str]]]:
    pairs = list(zip(server.requests, server.request_headers, strict=True))[since:]
    return [(p, h) for p, h in pairs if p.startswith(D) and p.endswith(("/", ".html"))]


async def crawl(
    store: Store, url: str, settings: Settings, options: CrawlOptions = OPTIONS
) -> tuple[str, str]:
    job_id = await create_job(store, url, options, settings)
    run = await run_job(store, job_id, settings)
    assert run.job.status is JobStatus.COMPLETED, run.job.status_message
    assert run.markdown is not None
    return job_id, run.markdown


async def http_statuses(store: Store, job_id: str) -> dict[str, int | None]:
    return {p.url.split("/docs/")[1]: p.http_status for p in await store.pages(job_id)}


async def stored_keys(store: Store, job_id: str) -> dict[str, bytes | None]:
    async with store.engines.reader.connect() as conn:
        rows = await conn.execute(
            select(crawled_pages.c.url, crawled_pages.c.block_keys).where(
                crawled_pages.c.job_id == job_id
            )
        )
        return {url.split("/docs/")[1]: keys for url, keys in rows}


async def test_unchanged_pages_are_reused_byte_for_byte(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_site(fixture_server)
    async with open_store(settings) as store:
        first_id, first = await crawl(store, start, settings)
        assert set((await http_statuses(store, first_id)).values()) == {200}
        seen = len(fixture_server.requests)
        second_id, second = await crawl(store, start, settings)
        statuses = await http_statuses(store, second_id)
        second_job = await store.get_job(second_id)
        first_job = await store.get_job(first_id)
        first_keys = await stored_keys(store, first_id)
        second_keys = await stored_keys(store, second_id)
    assert second == first
    assert second_keys == first_keys  # a reused page keeps its boilerplate keys too
    assert len(first_keys) == 4
    assert None not in first_keys.values()
    assert statuses == {"": 304, "alpha.html": 304, "beta.html": 304, "gamma.html": 304}
    assert second_job is not None
    assert first_job is not None
    assert (second_job.total_tokens, second_job.total_words, second_job.title) == (
        first_job.total_tokens,
        first_job.total_words,
        first_job.title,
    )
    requests = page_requests(fixture_server, seen)
    assert len(requests) == 4
    for path, headers in requests:
        if path.endswith("gamma.html"):  # no ETag: Last-Modified only
            assert "if-none-match" not in headers
        else:
            assert headers["if-none-match"].startswith('"')
        assert headers["if-modified-since"] == MODIFIED


async def test_a_changed_page_is_converted_again_and_the_rest_reused(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_site(fixture_server)
    async with open_store(settings) as store:
        await crawl(store, start, settings)
        serve_site(fixture_server, {f"{D}beta.html": 2})
        second_id, second = await crawl(store, start, settings)
        statuses = await http_statuses(store, second_id)
        # A third crawl revalidates against the second (its reused pages kept their validators).
        seen = len(fixture_server.requests)
        third_id, third = await crawl(store, start, settings)
        third_statuses = await http_statuses(store, third_id)
        fresh_id, fresh = await crawl(
            store, start, settings, OPTIONS.model_copy(update={"force_refresh": True})
        )
    assert statuses == {"": 304, "alpha.html": 304, "beta.html": 200, "gamma.html": 304}
    assert "Revision 2." in second
    assert third == second == fresh
    assert set(third_statuses.values()) == {304}
    third_requests = page_requests(fixture_server, seen)[:4]
    assert all("if-modified-since" in headers for _, headers in third_requests)
    assert fresh_id != third_id


async def test_force_refresh_sends_no_validators(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_site(fixture_server)
    async with open_store(settings) as store:
        await crawl(store, start, settings)
        seen = len(fixture_server.requests)
        job_id, _ = await crawl(
            store, start, settings, CrawlOptions(concurrency=2, force_refresh=True)
        )
        statuses = await http_statuses(store, job_id)
    assert set(statuses.values()) == {200}
    for _, headers in page_requests(fixture_server, seen):
        assert "if-none-match" not in headers
        assert "if-modified-since" not in headers


async def test_options_that_change_conversion_do_not_reuse(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_site(fixture_server)
    async with open_store(settings) as store:
        await crawl(store, start, settings)
        seen = len(fixture_server.requests)
        # More pages, another concurrency: compatible. Another selector: not.
        changed = CrawlOptions(concurrency=2, exclude_selectors=("table",))
        job_id, markdown = await crawl(store, start, settings, changed)
        statuses = await http_statuses(store, job_id)
    assert set(statuses.values()) == {200}
    assert "| k |" not in markdown
    assert all("if-none-match" not in h for _, h in page_requests(fixture_server, seen))


async def run_as(store: Store, user_id: str, url: str, settings: Settings) -> str:
    """Run one job of ``user_id`` (not the CLI's local user) with an in-process worker."""
    job, tasks = await store.create_job(user_id, url, OPTIONS)
    queue = LocalQueue(concurrency=4)
    async with Fetcher(fetch_config(settings)) as fetcher:
        worker = Worker(store, fetcher, queue, settings)
        await queue.start(worker.handle)
        await queue.publish(tasks)
        await eventually(lambda: store.is_terminal(job.id))
        await queue.stop()
    return job.id


async def test_a_recrawl_never_revalidates_against_another_users_crawl(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_site(fixture_server)
    async with open_store(settings) as store:
        alice_job = await run_as(store, "alice", start, settings)
        seen = len(fixture_server.requests)
        bob_job = await run_as(store, "bob", start, settings)
        bob_requests = page_requests(fixture_server, seen)
        seen = len(fixture_server.requests)
        alice_again = await run_as(store, "alice", start, settings)
        alice_requests = page_requests(fixture_server, seen)
        # The store query itself is scoped: bob cannot read alice's page through it.
        start_hash = url_hash(start)
        assert await store.reusable_page("bob", alice_job, start_hash) is None
        assert await store.reusable_page("alice", alice_job, start_hash) is not None
        previous = await store.previous_crawl(alice_again)
        bob_statuses = await http_statuses(store, bob_job)
        alice_statuses = await http_statuses(store, alice_again)
    assert all("if-none-match" not in h and "if-modified-since" not in h for _, h in bob_requests)
    assert set(bob_statuses.values()) == {200}
    assert previous is not None
    assert (previous.id, previous.user_id) == (alice_job, "alice")
    assert all("if-modified-since" in h for _, h in alice_requests)
    assert set(alice_statuses.values()) == {304}


async def test_validators_are_stored_per_page(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_site(fixture_server)
    async with open_store(settings) as store:
        job_id, _ = await crawl(store, start, settings)
        async with store.engines.reader.connect() as conn:
            rows = (
                await conn.execute(
                    select(crawled_pages.c.url, crawled_pages.c.etag, crawled_pages.c.last_modified)
                    .where(crawled_pages.c.job_id == job_id)
                    .where(crawled_pages.c.status == PageStatus.COMPLETED.value)
                )
            ).all()
        job = await store.get_job(job_id, LOCAL_USER)
    assert job is not None
    stored = {url.split("/docs/")[1]: (etag, modified) for url, etag, modified in rows}
    assert stored == {
        "": ('"docs-v1"', MODIFIED),
        "alpha.html": ('"alpha-v1"', MODIFIED),
        "beta.html": ('"beta-v1"', MODIFIED),
        "gamma.html": (None, MODIFIED),
    }


async def test_the_fetcher_returns_a_304_as_a_result_not_an_error(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    fixture_server.add("/p", "<p>x</p>", headers={"ETag": '"e1"', "Last-Modified": MODIFIED})
    fixture_server.add_redirect("/old", "/p")
    async with Fetcher(fetch_config(settings)) as fetcher:
        fresh = await fetcher.fetch(fixture_server.url("/p"))
        same = await fetcher.fetch(fixture_server.url("/old"), revalidate=Validators('"e1"'))
        changed = await fetcher.fetch(fixture_server.url("/p"), revalidate=Validators('"e0"'))
        by_date = await fetcher.fetch(
            fixture_server.url("/p"), revalidate=Validators(last_modified=MODIFIED)
        )
    assert fresh.status == 200
    assert fresh.headers["etag"] == '"e1"'
    assert (same.status, same.body, same.final_url) == (304, b"", fixture_server.url("/p"))
    assert same.redirects == (fixture_server.url("/old"),)
    assert (changed.status, changed.body) == (200, b"<p>x</p>")
    assert by_date.status == 304
    headers = fixture_server.request_headers
    assert "if-none-match" not in headers[0]
    assert headers[1]["if-none-match"] == headers[2]["if-none-match"] == '"e1"'
    assert headers[4]["if-modified-since"] == MODIFIED


async def test_a_site_without_validators_is_crawled_again_plainly(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    """The earlier crawl stored no ETag or Last-Modified: nothing to revalidate against, so no
    page is looked up in it and every request is a plain one."""
    fixture_server.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    fixture_server.add(D, page("Docs", "<p>See <a href='alpha.html'>alpha</a>.</p>", ""))
    fixture_server.add(f"{D}alpha.html", page("Alpha", "<p>Alpha text.</p>", ""))
    start = fixture_server.url(D)
    async with open_store(settings) as store:
        _, first = await crawl(store, start, settings)
        seen = len(fixture_server.requests)
        second_id, second = await crawl(store, start, settings)
        previous = await store.previous_crawl(second_id)
        statuses = await http_statuses(store, second_id)
    assert previous is None
    assert second == first
    assert set(statuses.values()) == {200}
    requests = page_requests(fixture_server, seen)
    assert requests
    assert all("if-none-match" not in h and "if-modified-since" not in h for _, h in requests)
