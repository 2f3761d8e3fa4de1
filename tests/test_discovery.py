"""Discovery and scope on real local servers: sitemaps (robots-listed, nested, gzip), llms.txt,
include/exclude globs, --scope, versions and languages, private headers, docspasta map."""

from __future__ import annotations

import gzip
import logging

import pytest

from docspasta.cli.map import render
from docspasta.domain import CrawlOptions, JobStatus
from docspasta.mapping import map_site
from docspasta.runtime import create_job, open_store, run_job
from docspasta.settings import Settings
from tests.support.http import FixtureServer
from tests.support.sites import EXPECTED_ORDER, page, serve_guide, source_paths
from tests.test_cli import run_cli

G = "/docs/guide/"
ORPHAN = G + "orphan.html"  # linked from no page
LLMS_ONLY = G + "curated.html"  # linked from no page, listed by llms.txt


def serve_discoverable(server: FixtureServer) -> str:
    start = serve_guide(server)
    server.add(
        "/robots.txt",
        "User-agent: *\nDisallow: /docs/guide/private/\nSitemap: /sitemap-index.xml\n",
        content_type="text/plain",
    )
    server.add(
        "/sitemap-index.xml",
        "<sitemapindex><sitemap><loc>/sitemaps/docs.xml.gz</loc></sitemap></sitemapindex>",
        content_type="application/xml",
    )
    urlset = (
        "<urlset>"
        + "".join(
            f"<url><loc>{server.url(p)}</loc></url>"
            for p in [ORPHAN, "/blog/", G + "private/secret.html", G + "v1/old.html", G + "a.png"]
        )
        + "</urlset>"
    )
    server.add(
        "/sitemaps/docs.xml.gz", gzip.compress(urlset.encode()), content_type="application/gzip"
    )
    server.add(ORPHAN, page("Orphan", "<p>Only the sitemap knows me.</p>"))
    server.add(G + "v1/old.html", page("Old", "<p>Old version.</p>"))
    server.add(LLMS_ONLY, page("Curated", "<p>Only llms.txt knows me.</p>"))
    server.add(
        G + "llms.txt",
        "# Guide\n\n- [Curated](curated.html.md)\n- [Intro](intro.html)\n- [Blog](/blog/)\n",
        content_type="text/plain",
    )
    return start


async def crawl(server: FixtureServer, settings: Settings, options: CrawlOptions) -> list[str]:
    start = server.url(G)
    async with open_store(settings) as store:
        job_id = await create_job(store, start, options, settings)
        run = await run_job(store, job_id, settings)
    assert run.job.status is JobStatus.COMPLETED, run.job.status_message
    assert run.markdown is not None
    paths = source_paths(run.markdown, server.base_url)
    assert len(paths) == len(set(paths))  # never the same page twice
    return paths


async def test_sitemaps_and_llms_txt_seed_the_crawl(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    serve_discoverable(fixture_server)
    paths = await crawl(fixture_server, settings, CrawlOptions())
    assert paths[: len(EXPECTED_ORDER)] == EXPECTED_ORDER  # the link order still wins
    assert set(paths[len(EXPECTED_ORDER) :]) == {ORPHAN, LLMS_ONLY}
    requested = set(fixture_server.requests)
    assert {"/sitemap-index.xml", "/sitemaps/docs.xml.gz", G + "llms.txt"} <= requested
    assert not {"/blog/", G + "private/secret.html", G + "v1/old.html", G + "a.png"} & requested


async def test_discovery_can_be_turned_off(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    serve_discoverable(fixture_server)
    options = CrawlOptions(follow_sitemaps=False, follow_llms_txt=False)
    assert await crawl(fixture_server, settings, options) == EXPECTED_ORDER
    requested = set(fixture_server.requests)
    assert not {"/sitemap-index.xml", G + "llms.txt", G + "sitemap.xml"} & requested


async def test_seeds_respect_the_page_cap(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    serve_discoverable(fixture_server)
    paths = await crawl(fixture_server, settings, CrawlOptions(max_pages=3))
    assert len(paths) == 3


async def test_exclude_and_include_paths(fixture_server: FixtureServer, settings: Settings) -> None:
    serve_guide(fixture_server)
    options = CrawlOptions(exclude_paths=("api/",), follow_sitemaps=False)
    paths = await crawl(fixture_server, settings, options)
    assert paths == [p for p in EXPECTED_ORDER if "/api/" not in p]
    assert not any("/api/" in r for r in fixture_server.requests)

    options = CrawlOptions(include_paths=("/docs/guide/*.html",), follow_sitemaps=False)
    paths = await crawl(fixture_server, settings, options)
    assert paths == [G, G + "intro.html", G + "install.html", G + "usage.html"]  # start kept


async def test_scope_widens_the_crawl(fixture_server: FixtureServer, settings: Settings) -> None:
    serve_guide(fixture_server)
    fixture_server.add(G + "usage.html", page("Usage", "<a href='/docs/faq.html'>FAQ</a>"))
    fixture_server.add("/docs/faq.html", page("FAQ", "<p>Questions.</p>"))
    narrow = await crawl(fixture_server, settings, CrawlOptions())
    assert "/docs/faq.html" not in narrow
    wide = await crawl(fixture_server, settings, CrawlOptions(scope=fixture_server.url("/docs/")))
    assert "/docs/faq.html" in wide
    assert "/blog/" not in wide


async def test_other_versions_are_left_out_unless_asked(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    serve_guide(fixture_server)
    links = (
        "<a href='v1/old.html'>v1</a><a href='fr/intro.html'>fr</a><a href='a.html?lang=de'>de</a>"
    )
    fixture_server.add(G + "install.html", page("Installation", links))
    for path in ("v1/old.html", "fr/intro.html", "a.html"):
        fixture_server.add(G + path, page(path, "<p>variant</p>"))
    paths = await crawl(fixture_server, settings, CrawlOptions(follow_sitemaps=False))
    assert paths == EXPECTED_ORDER
    every = await crawl(
        fixture_server, settings, CrawlOptions(include_variants=True, follow_sitemaps=False)
    )
    assert {G + "v1/old.html", G + "fr/intro.html", G + "a.html?lang=de"} <= set(every)


async def test_private_headers_go_to_the_start_host_only_and_are_never_logged(
    fixture_server: FixtureServer, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    serve_guide(fixture_server)
    with FixtureServer() as other:
        other_page = f"http://localhost:{other.port}/docs/guide/elsewhere.html"
        other.add("/docs/guide/elsewhere.html", page("Elsewhere", "<p>Other host.</p>"))
        other.add("/robots.txt", "", content_type="text/plain")
        fixture_server.add(G + "usage.html", page("Usage", f"<a href='{other_page}'>x</a>"))
        settings = settings.model_copy(
            update={"allow_private_hosts": frozenset({"127.0.0.1", "localhost"})}
        )
        options = CrawlOptions(
            headers={"Authorization": "Bearer s3cret-token"},
            cookies={"session": "c00kie-value"},
            scope=f"http://localhost:{other.port}/docs/guide/",
        )
        caplog.set_level(logging.DEBUG)
        paths = await crawl(fixture_server, settings, options)
        other_headers = other.request_headers
    assert other_page in paths
    for headers in fixture_server.request_headers:
        assert headers["authorization"] == "Bearer s3cret-token"
        assert headers["cookie"] == "session=c00kie-value"
    assert other_headers
    assert all("authorization" not in h and "cookie" not in h for h in other_headers)
    # Our logs and the HTTP stack's (aiosqlite's DEBUG log of SQL parameters is the store's).
    ours = [
        r.getMessage()
        for r in caplog.records
        if r.name.split(".")[0] in {"docspasta", "httpx2", "httpcore2"}
    ]
    assert ours
    assert not [m for m in ours if "s3cret" in m or "c00kie" in m]
    assert "s3cret" not in repr(options)


async def test_map_lists_taken_and_left_out_urls_with_reasons(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_discoverable(fixture_server)
    fixture_server.add_redirect(G + "old-intro.html", G + "intro.html")
    fixture_server.add(G + "usage.html", page("Usage", "<a href='old-intro.html'>old</a>"))
    before = len(fixture_server.requests)
    site = await map_site(start, CrawlOptions(), settings)
    taken = [u.removeprefix(fixture_server.base_url) for u in site.taken]
    assert sorted(taken) == sorted([*EXPECTED_ORDER, ORPHAN, LLMS_ONLY])
    reasons = {u.removeprefix(fixture_server.base_url): r for u, r in site.left_out}
    assert reasons["/blog/"].startswith("out of scope")
    assert reasons[G + "private/secret.html"].startswith("disallowed by robots.txt")
    assert reasons[G + "v1/old.html"].startswith("another version (v1)")
    assert reasons[G + "logo.png"] == "not a page (.png file)"
    assert reasons[G + "old-intro.html"] == f"duplicate of {fixture_server.url(G + 'intro.html')}"
    assert "https://example.org/" in {u for u, _ in site.left_out}
    text = render(site)
    assert f"take  {start}\n" in text
    assert f"skip  {fixture_server.url('/blog/')}  out of scope" in text
    fetched = fixture_server.requests[before:]
    assert "/blog/" not in fetched


def test_map_command(fixture_server: FixtureServer, tmp_path: object) -> None:
    start = serve_guide(fixture_server)
    result = run_cli(
        "map",
        start,
        "--allow-private-host",
        "127.0.0.1",
        "--no-politeness",
        "--exclude-path",
        "api/",
        db=tmp_path / "db.sqlite",  # type: ignore[operator]
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"take  {start}" in lines
    assert f"skip  {fixture_server.url(G + 'api/')}  excluded by --exclude-path api/" in lines
    assert "page(s) would be taken" in result.stderr


def test_map_refuses_a_private_address(tmp_path: object) -> None:
    result = run_cli("map", "http://127.0.0.1:9/docs/", db=tmp_path / "db.sqlite")  # type: ignore[operator]
    assert result.returncode == 2
    assert "loopback" in result.stderr
    assert "Traceback" not in result.stderr


def test_crawl_refuses_a_malformed_header(tmp_path: object) -> None:
    result = run_cli(
        "crawl",
        "http://127.0.0.1:9/",
        "--header",
        "no-colon-secret",
        db=tmp_path / "db.sqlite",  # type: ignore[operator]
    )
    assert result.returncode == 2
    assert "--header" in result.stderr
    assert "no-colon-secret" not in result.stderr
