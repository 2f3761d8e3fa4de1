"""Politeness and robustness against real local servers: per-host limits and delays,
Crawl-delay, Retry-After (seconds and HTTP-date), backoff to a bounded end."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from docspasta.domain import CrawlOptions, JobStatus
from docspasta.fetch import FetchConfig, Fetcher
from docspasta.fetch.politeness import Politeness, parse_retry_after
from docspasta.runtime import create_job, open_store, run_job
from docspasta.settings import Settings
from docspasta.worker import retry_delay
from tests.support.http import FixtureServer, Route
from tests.support.sites import EXPECTED_ORDER, serve_guide

LOOPBACK = FetchConfig(allow_private_hosts=frozenset({"127.0.0.1"}))


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def assert_spaced(times: list[float], spacing: float) -> None:
    """Request starts are spaced on the client; the server stamps each one when its handler
    thread runs, which CPU contention can delay for a single request and so shrink one gap.
    The span of n starts cannot shrink below (n - 1) spacings by more than that lateness, and
    the typical gap is the spacing."""
    assert times[-1] - times[0] >= (len(times) - 1) * spacing - 0.15
    assert sorted(gaps(times))[len(times) // 2] >= spacing * 0.8


async def fetch_all(urls: list[str], politeness: Politeness | None) -> None:
    async with Fetcher(LOOPBACK) as fetcher:
        await asyncio.gather(*(fetcher.fetch(u, politeness=politeness) for u in urls))


async def test_min_delay_spaces_request_starts(fixture_server: FixtureServer) -> None:
    fixture_server.add("/p", "x")
    await fetch_all([fixture_server.url("/p")] * 5, Politeness(max_connections=8, min_delay=0.15))
    assert_spaced(fixture_server.request_times, 0.15)


async def test_connection_limit_per_host(fixture_server: FixtureServer) -> None:
    fixture_server.add("/slow", "x", delay=0.15)
    await fetch_all([fixture_server.url("/slow")] * 6, Politeness(max_connections=2, min_delay=0))
    assert fixture_server.max_in_flight == 2


async def test_no_politeness_does_not_wait(fixture_server: FixtureServer) -> None:
    fixture_server.add("/slow", "x", delay=0.15)
    started = time.monotonic()
    await fetch_all([fixture_server.url("/slow")] * 6, None)
    assert fixture_server.max_in_flight == 6
    assert time.monotonic() - started < 0.6


async def test_crawl_delay_raises_the_delay(fixture_server: FixtureServer) -> None:
    fixture_server.add("/p", "x")
    polite = Politeness(max_connections=4, min_delay=0.0, crawl_delay=0.2)
    await fetch_all([fixture_server.url("/p")] * 4, polite)
    assert_spaced(fixture_server.request_times, 0.2)


@pytest.mark.parametrize("header", ["1", "date"])
async def test_retry_after_pauses_the_host(fixture_server: FixtureServer, header: str) -> None:
    value = "1"
    if header == "date":  # HTTP-dates have whole seconds: ask for 2 s, expect at least 1
        value = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    fixture_server.add_sequence(
        "/busy",
        [Route(b"busy", 429, "text/plain", {"Retry-After": value}), Route(b"ok", 200)],
    )
    fixture_server.add("/other", "other")
    async with Fetcher(LOOPBACK) as fetcher:
        first = await fetcher.fetch(fixture_server.url("/busy"))
        second = await fetcher.fetch(fixture_server.url("/other"))  # same host, no politeness
    assert first.status == 429
    assert first.retry_after is not None
    assert 0.5 <= first.retry_after <= 2
    assert second.status == 200
    assert gaps(fixture_server.request_times)[0] >= 0.9


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
        ("Thu, 01 Jan 2099 00:00:00 GMT", None),  # checked below: far future
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    parsed = parse_retry_after(value, now)
    if value and "2099" in value:
        assert parsed is not None
        assert parsed > 365 * 24 * 3600
    else:
        assert parsed == seconds


def test_retry_delay_backs_off_with_jitter_and_honours_retry_after() -> None:
    delays = [retry_delay(attempt) for attempt in (1, 2, 3, 10) for _ in range(20)]
    assert all(0.5 <= d <= 1.0 for d in delays[:20])
    assert all(1.0 <= d <= 2.0 for d in delays[20:40])
    assert all(15.0 <= d <= 30.0 for d in delays[60:])
    assert len(set(delays[:20])) > 1  # jitter
    assert 5.0 <= retry_delay(1, retry_after=5.0) <= 6.0


def polite(settings: Settings, **updates: object) -> Settings:
    values: dict[str, object] = {"politeness": True, "host_min_delay_seconds": 0.05}
    values.update(updates)
    return settings.model_copy(update=values)


async def test_polite_crawl_keeps_to_the_host_limits(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server, {path: 0.05 for path in EXPECTED_ORDER})
    settings = polite(settings, host_connections=2, host_min_delay_seconds=0.1)
    async with open_store(settings) as store:
        job_id = await create_job(store, start, CrawlOptions(concurrency=8), settings)
        run = await run_job(store, job_id, settings)
    assert run.job.status is JobStatus.COMPLETED
    assert fixture_server.max_in_flight <= 2
    assert_spaced(fixture_server.request_times, 0.1)


async def test_crawl_delay_from_robots_is_honoured(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    fixture_server.add(
        "/robots.txt", "User-agent: *\nCrawl-delay: 0.2\n", content_type="text/plain"
    )
    settings = polite(settings)
    async with open_store(settings) as store:
        options = CrawlOptions(max_depth=1, follow_sitemaps=False, follow_llms_txt=False)
        job_id = await create_job(store, start, options, settings)
        run = await run_job(store, job_id, settings)
    assert run.job.status is JobStatus.COMPLETED
    assert_spaced(fixture_server.request_times[1:], 0.2)  # after robots.txt itself


async def test_no_politeness_option_turns_it_off(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server, {path: 0.1 for path in EXPECTED_ORDER})
    settings = polite(settings, host_connections=1, host_min_delay_seconds=1.0)
    options = CrawlOptions(concurrency=8, politeness=False)
    async with open_store(settings) as store:
        job_id = await create_job(store, start, options, settings)
        started = time.monotonic()
        run = await run_job(store, job_id, settings)
    assert run.job.status is JobStatus.COMPLETED
    assert time.monotonic() - started < 3
    assert fixture_server.max_in_flight > 1


async def test_503_with_retry_after_is_retried_after_the_pause(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    path = "/docs/guide/usage.html"
    fixture_server.add_sequence(
        path,
        [Route(b"later", 503, "text/plain", {"Retry-After": "1"}), Route(b"<h1>Usage</h1>", 200)],
    )
    async with open_store(settings) as store:
        job_id = await create_job(store, start, CrawlOptions(), settings)
        run = await run_job(store, job_id, settings)
    assert run.job.status is JobStatus.COMPLETED
    times = [
        t
        for r, t in zip(fixture_server.requests, fixture_server.request_times, strict=True)
        if r == path
    ]
    assert len(times) == 2
    assert times[1] - times[0] >= 0.95


async def test_too_long_retry_after_fails_the_page_with_its_reason(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    path = "/docs/guide/usage.html"
    fixture_server.add(path, "busy", status=429, headers={"Retry-After": "3600"})
    async with open_store(settings) as store:
        job_id = await create_job(store, start, CrawlOptions(), settings)
        run = await run_job(store, job_id, settings)
    assert run.job.status is JobStatus.PARTIAL_SUCCESS
    assert run.failed_pages == [(fixture_server.url(path), "HTTP 429, asked to retry after 3600s")]
    assert fixture_server.requests.count(path) == 1


async def test_persistent_5xx_ends_partial_success_after_bounded_attempts(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    path = "/docs/guide/usage.html"
    fixture_server.add(path, "down", status=502)
    settings = settings.model_copy(update={"max_page_attempts": 2})
    async with open_store(settings) as store:
        job_id = await create_job(store, start, CrawlOptions(), settings)
        run = await run_job(store, job_id, settings)
    assert run.job.status is JobStatus.PARTIAL_SUCCESS
    assert run.failed_pages == [(fixture_server.url(path), "HTTP 502")]
    assert fixture_server.requests.count(path) == 2
