"""``<link rel=canonical>``: read by the page analysis, honoured by the crawl within scope."""

from __future__ import annotations

import pytest

from docspasta.core.page import analyze_page
from docspasta.domain import CrawlOptions, JobStatus, PageStatus
from docspasta.runtime import create_job, open_store, run_job
from docspasta.settings import Settings
from tests.support.http import FixtureServer
from tests.support.sites import page

BASE = "https://d.example/docs/a/page.html"


def head(links: str) -> str:
    return f"<html><head><title>T</title>{links}</head><body><main><p>x</p></main></body></html>"


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        ("<link rel='canonical' href='/docs/b.html'>", "https://d.example/docs/b.html"),
        ("<link rel='canonical' href='../b.html#top'>", "https://d.example/docs/b.html"),
        ("<link rel='Canonical alternate' href='b.html'>", "https://d.example/docs/a/b.html"),
        ("<link rel='canonical' href='https://D.example:443/docs/a/page.html'>", None),
        ("<link rel='canonical' href=''>", None),
        ("<link rel='alternate' href='/docs/b.html'>", None),
        ("<link rel='canonical' href='mailto:x@y.z'>", None),
        ("", None),
    ],
)
def test_canonical_is_absolute_normalised_and_not_the_page_itself(
    links: str, expected: str | None
) -> None:
    assert analyze_page(head(links), BASE).canonical == expected


D = "/docs/"


def serve(server: FixtureServer) -> str:
    nav = (
        f"<a href='{D}page.html'>Page</a><a href='{D}print/page.html'>Print</a>"
        f"<a href='{D}old.html'>Old</a><a href='{D}mirror.html'>Mirror</a>"
        f"<a href='{D}home-canonical.html'>Home</a>"
    )
    server.add("/robots.txt", "", status=404, content_type="text/plain")

    def add(path: str, title: str, body: str, canonical: str | None = None) -> None:
        link = f"<link rel='canonical' href='{canonical}'>" if canonical else ""
        html = page(title, body, nav).replace("</head>", f"{link}</head>")
        server.add(path, html)

    add(D, "Docs", "<p>Start.</p>", canonical=server.url(D))
    add(f"{D}page.html", "Page", "<p>The page, for screens.</p>")
    add(f"{D}print/page.html", "Page", "<p>The page, for printers.</p>", f"{D}page.html")
    # Canonical names a page nobody links: the page is kept under that identity.
    add(f"{D}old.html", "Old", "<p>Moved content.</p>", f"{D}new.html")
    # Out of scope: ignored.
    add(f"{D}mirror.html", "Mirror", "<p>Mirror text.</p>", "https://elsewhere.example/x.html")
    # Towards the start page (a site-wide mistake): ignored.
    add(f"{D}home-canonical.html", "Home", "<p>Own content.</p>", D)
    return server.url(D)


async def test_a_canonical_in_scope_deduplicates_and_one_out_of_scope_is_ignored(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve(fixture_server)
    async with open_store(settings) as store:
        job_id = await create_job(store, start, CrawlOptions(concurrency=4), settings)
        run = await run_job(store, job_id, settings)
        pages = {p.url.removeprefix(fixture_server.url(D)): p for p in await store.pages(job_id)}
    assert run.job.status is JobStatus.COMPLETED, run.job.status_message
    markdown = run.markdown
    assert markdown is not None
    printed = pages["print/page.html"]
    assert printed.status is PageStatus.SKIPPED
    assert printed.error == f"duplicate of {fixture_server.url(D)}page.html"
    assert "for printers" not in markdown
    assert markdown.count("The page, for screens.") == 1
    for kept in ("", "page.html", "old.html", "mirror.html", "home-canonical.html"):
        assert pages[kept].status is PageStatus.COMPLETED, kept
    assert "Moved content." in markdown
    assert "Mirror text." in markdown
    assert "Own content." in markdown
    assert "new.html" not in pages  # the canonical identity took its place
    assert "/docs/new.html" not in fixture_server.requests
