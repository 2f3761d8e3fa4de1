"""The web page in a real headless Chromium against a real server crawling a fixture site."""

from __future__ import annotations

import asyncio

from playwright.async_api import Browser, Page, Request, expect

from docspasta.settings import Settings
from tests.api.conftest import Service, start_service, stop_service
from tests.browser.conftest import (
    PHONE,
    assert_accessible,
    create_key,
    free_port,
    new_page,
    screenshot,
)
from tests.support.http import FixtureServer
from tests.support.sites import EXPECTED_ORDER, PAGES, serve_guide

TITLES = [PAGES[path][0] for path in EXPECTED_ORDER]
#: Pages finish one after another, so the progress visibly advances.
STAGGERED = {path: 0.4 * n for n, path in enumerate(EXPECTED_ORDER)}

DONE = "completed"


async def wait_for_status(page: Page, status: str, *, within_ms: float = 20_000) -> None:
    await expect(page.locator("#job-status")).to_have_attribute(
        "data-status", status, timeout=within_ms
    )


async def number(page: Page, selector: str) -> int:
    return int((await page.locator(selector).inner_text()).replace(",", ""))


async def test_crawl_live_then_copy_and_download(
    service: Service, fixture_server: FixtureServer, browser: Browser
) -> None:
    start = serve_guide(fixture_server, STAGGERED)
    page = await new_page(browser, service.base_url)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await page.goto(f"{service.base_url}/")
    await expect(page.locator("#url")).to_be_focused()
    await page.fill("#url", start)
    await page.click("#options summary")
    await page.fill("#max-pages", "50")
    await page.click("#start")

    # Live: some pages done, the crawl still running, the latest pages listed.
    await page.wait_for_function(
        """() => Number(document.querySelector('#stat-completed').textContent) >= 2
            && document.querySelector('#job-status').dataset.status === 'running'
            && document.querySelectorAll('#recent-pages li').length >= 1"""
    )
    during = await number(page, "#stat-completed")
    assert await number(page, "#stat-discovered") >= during
    await expect(page.locator("#cancel")).to_be_visible()
    await screenshot(page, "1-crawl-in-progress")

    await wait_for_status(page, DONE)
    await expect(page.locator("#result")).to_be_visible()
    assert await number(page, "#stat-completed") == len(EXPECTED_ORDER) > during
    await expect(page.locator("#connection")).to_be_hidden()
    await expect(page.locator("#cancel")).to_be_hidden()
    job_id = page.url.rsplit("#job=", 1)[1]
    async with service.client() as client:
        job = (await client.get(f"/api/v5/jobs/{job_id}")).json()
        markdown = (await client.get(f"/api/v5/jobs/{job_id}/markdown")).text
    assert await number(page, "#total-tokens") == job["progress"]["tokens"] > 0
    windows = page.locator("#windows li")
    await expect(windows).to_have_count(5)
    await expect(windows.first).to_contain_text("8K")
    await expect(windows.first).to_contain_text("fits")

    # The rendered preview: the document's title, its code block and its table.
    preview = page.locator("#preview")
    await expect(preview.locator("h1")).to_have_text("Guide")
    await expect(preview.locator("pre code").first).to_contain_text("def hello():")
    await expect(preview.locator("table th").first).to_have_text("flag")
    await expect(preview.locator("a[href='#md-introduction']")).to_have_count(1)
    await expect(preview.locator("#md-introduction")).to_have_count(1)

    await page.click("#copy")
    await expect(page.locator("#copy-status")).to_contain_text("Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == markdown

    async with page.expect_download() as download_info:
        await page.click("#download")
    download = await download_info.value
    assert download.suggested_filename.endswith(".md")
    saved = await download.path()
    assert await asyncio.to_thread(saved.read_text, encoding="utf-8") == markdown

    # Pages in document order, each with its tokens.
    await page.click("#tab-pages")
    items = page.locator("#page-list li")
    await expect(items.locator(".page-title")).to_have_text(TITLES)
    await expect(items.first.locator(".tokens")).to_contain_text("tokens")
    await expect(page.locator("#pages-count")).to_have_text(f"({len(TITLES)})")
    await page.click("#tab-failed")
    await expect(page.locator("#no-failures")).to_be_visible()
    await page.click("#tab-preview")
    await screenshot(page, "2-crawl-done")
    await assert_accessible(page)
    # The page itself asks nothing of any other host (no CDN, no crawled image).
    assert requested
    assert [url for url in requested if not url.startswith(f"{service.base_url}/")] == []


async def test_the_page_recovers_after_a_server_restart(
    web_settings: Settings, fixture_server: FixtureServer, browser: Browser
) -> None:
    await create_key(web_settings, "someone")  # no local user: the browser gets a cookie
    start = serve_guide(fixture_server, {p: 0.2 if p == EXPECTED_ORDER[0] else 2.0 for p in PAGES})
    port = free_port()
    service, task = await start_service(web_settings, port=port)
    try:
        page = await new_page(browser, service.base_url)
        streams: list[Request] = []
        page.on("request", lambda r: streams.append(r) if r.url.endswith("/stream") else None)
        await page.goto(f"{service.base_url}/")
        await page.fill("#url", start)
        await page.press("#url", "Enter")
        await wait_for_status(page, "running")
        await page.wait_for_function(
            "() => Number(document.querySelector('#stat-discovered').textContent) >= 2"
        )
        await stop_service(service, task)
        await expect(page.locator("#connection")).to_be_visible()
        await expect(page.locator("#connection")).to_contain_text("Connection lost")
        await screenshot(page, "3-server-restarting")
        await asyncio.sleep(0.5)
        service, task = await start_service(web_settings, port=port)
        await wait_for_status(page, DONE, within_ms=30_000)
        await expect(page.locator("#connection")).to_be_hidden()
        assert await number(page, "#stat-completed") == len(EXPECTED_ORDER)
        await expect(page.locator("#page-list li")).to_have_count(len(EXPECTED_ORDER))
        await expect(page.locator("#preview h1")).to_have_text("Guide")
        await screenshot(page, "4-recovered-after-restart")
        # The browser resumed the stream where it was: Last-Event-ID, not from scratch.
        resumed = [await r.header_value("last-event-id") for r in streams[1:]]
        assert any(value and value.isdigit() for value in resumed), resumed
    finally:
        await stop_service(service, task)


async def test_a_refused_url_shows_its_message(service: Service, browser: Browser) -> None:
    page = await new_page(browser, service.base_url)
    await page.goto(f"{service.base_url}/")
    await page.fill("#url", "http://10.0.0.1/")
    await page.click("#start")
    error = page.locator("#form-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("refused")
    await expect(error).to_contain_text("private address")
    await expect(page.locator("#url")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#url")).to_be_focused()
    await expect(page.locator("#job")).to_be_hidden()
    await screenshot(page, "5-refused-url")
    await assert_accessible(page)

    await page.fill("#url", "https://docs.example.com/")
    await page.click("#options summary")
    await page.fill("#max-pages", "0")
    await page.click("#start")
    await expect(error).to_contain_text("Max pages")
    await expect(page.locator("#max-pages")).to_be_focused()


async def test_jobs_are_listed_cancelled_and_deleted(
    web_settings: Settings, fixture_server: FixtureServer, browser: Browser
) -> None:
    alice = await create_key(web_settings, "alice")
    quick = serve_guide(fixture_server, {p: 6.0 for p in EXPECTED_ORDER[1:]})
    service, task = await start_service(web_settings)
    try:
        async with service.client(key=alice) as client:  # another user's job: never listed
            answer = await client.post("/api/v5/crawl", json={"url": quick})
            assert answer.status_code == 202
        page = await new_page(browser, service.base_url)
        await page.goto(f"{service.base_url}/")
        await expect(page.locator("#jobs-empty")).to_be_visible()

        await page.fill("#url", quick)
        await page.click("#options summary")
        await page.fill("#max-pages", "1")  # the start page only: done at once
        await page.click("#start")
        await wait_for_status(page, DONE)
        first = page.url.rsplit("#job=", 1)[1]

        await page.fill("#max-pages", "")
        await page.click("#start")
        await wait_for_status(page, "running")
        second = page.url.rsplit("#job=", 1)[1]
        jobs = page.locator("#jobs li")
        await expect(jobs).to_have_count(2)
        await expect(jobs.nth(0)).to_have_attribute("data-id", second)
        await expect(jobs.nth(1)).to_have_attribute("data-id", first)
        await expect(jobs.nth(1).locator(".badge")).to_have_text("Completed")
        await expect(jobs.nth(0).get_by_role("button")).to_have_text(f"Cancel crawl of {'Guide'}")
        await screenshot(page, "6-jobs-list")

        await jobs.nth(0).get_by_role("button", name="Cancel").click()
        await wait_for_status(page, "cancelled")
        await expect(jobs.nth(0).locator(".badge")).to_have_text("Cancelled")

        await jobs.nth(0).get_by_role("button", name="Delete").click()
        await expect(jobs).to_have_count(1)
        await expect(page.locator("#job")).to_be_hidden()

        await jobs.nth(0).locator(".job-link").click()  # an earlier job opens again
        await wait_for_status(page, DONE)
        await expect(page.locator("#preview h1")).to_have_text("Guide")
        await assert_accessible(page)
    finally:
        await stop_service(service, task)


async def test_phone_width_and_keyboard_only(
    service: Service, fixture_server: FixtureServer, browser: Browser
) -> None:
    start = serve_guide(fixture_server)
    page = await new_page(browser, service.base_url, viewport=PHONE, dark=True)
    await page.goto(f"{service.base_url}/")
    await expect(page.locator("#url")).to_be_focused()
    await page.keyboard.type(start)
    await page.keyboard.press("Tab")
    await expect(page.locator("#start")).to_be_focused()
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")  # opens the options
    await page.keyboard.press("Tab")
    await expect(page.locator("#max-pages")).to_be_focused()
    await page.keyboard.type("20")
    await page.keyboard.press("Enter")  # submits the form
    await wait_for_status(page, DONE)

    await page.locator("#tab-preview").focus()
    await page.keyboard.press("ArrowRight")
    await expect(page.locator("#tab-pages")).to_be_focused()
    await expect(page.locator("#panel-pages")).to_be_visible()
    await page.keyboard.press("ArrowLeft")
    await expect(page.locator("#panel-preview")).to_be_visible()

    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 375px"
    await screenshot(page, "7-phone-done-dark")
    await page.locator("#total-tokens").scroll_into_view_if_needed()
    await page.evaluate("window.scrollBy(0, -120)")
    await screenshot(page, "8-phone-result-dark", full_page=False)
    await assert_accessible(page)


async def test_crawled_html_is_never_injected(
    service: Service, fixture_server: FixtureServer, browser: Browser
) -> None:
    hostile = (
        "<p>&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt; and "
        "&lt;script&gt;window.pwned=2&lt;/script&gt;</p>"
        "<p><a href='javascript:window.pwned=3'>click</a></p>"
        "<pre><code>&lt;b onmouseover=alert(1)&gt;bold&lt;/b&gt;</code></pre>"
        "<p><a href='/docs/x/gone.html'>a page that is gone</a></p>"
    )
    fixture_server.add(
        "/docs/x/",
        f"<html><head><title>&lt;i&gt;T&lt;/i&gt;</title></head><body><main><h1>X</h1>"
        f"{hostile}</main></body></html>",
    )
    page = await new_page(browser, service.base_url)
    await page.goto(f"{service.base_url}/")
    await page.fill("#url", fixture_server.url("/docs/x/"))
    await page.click("#start")
    await wait_for_status(page, "partial_success")
    preview = page.locator("#preview")
    await expect(preview).to_contain_text("<img src=x onerror=")
    await expect(preview).to_contain_text("<script>window.pwned=2</script>")
    await expect(preview.locator("img, script, b, i")).to_have_count(0)
    await expect(preview.locator("a[href^='javascript']")).to_have_count(0)
    assert await page.evaluate("window.pwned") is None

    await page.click("#tab-failed")
    failed = page.locator("#failed-list li")
    await expect(failed).to_have_count(1)
    await expect(failed).to_contain_text("gone.html")
    await expect(failed.locator(".reason")).to_contain_text("404")
    await expect(page.locator("#failed-count")).to_have_text("(1)")
    await screenshot(page, "9-failed-pages")


async def test_a_job_that_fails_shows_why(
    service: Service, fixture_server: FixtureServer, browser: Browser
) -> None:
    page = await new_page(browser, service.base_url)
    await page.goto(f"{service.base_url}/")
    await page.fill("#url", fixture_server.url("/docs/nothing/"))
    await page.click("#start")
    await wait_for_status(page, "failed")
    message = page.locator("#job-message")
    await expect(message).to_be_visible()
    await expect(message).to_contain_text("404")
    await expect(page.locator("#result")).to_be_hidden()
    await expect(page.locator("#cancel")).to_be_hidden()
    await assert_accessible(page)


RENDERER_SAMPLE = r"""# Title

- [Intro](#intro)
- [Intro again](#intro-1)

## Intro

Some *em*, **strong**, `a <b>`, snake_case_name, a [link](https://e.com/a_(b)),\
<https://auto.link/>.

1. one
2. two
   - nested

| flag | meaning |
|---|--:|
| -o | out \| put |

```python
return "<b>"
```

## Intro

![logo](https://e.com/x.png) [bad](javascript:alert(1)) [relative](other.html)
"""


async def test_the_markdown_renderer_builds_safe_elements(
    service: Service, browser: Browser
) -> None:
    page = await new_page(browser, service.base_url)
    await page.goto(f"{service.base_url}/")
    shape = await page.evaluate(
        """async (markdown) => {
            const { render } = await import("/static/markdown.js");
            const box = document.createElement("div");
            render(markdown, box);
            const all = (selector, read) => [...box.querySelectorAll(selector)].map(read);
            return {
                headings: all("h1, h2", (h) => `${h.tagName}#${h.id}`),
                links: all("a", (a) => a.getAttribute("href")),
                code: all("code", (c) => c.textContent),
                language: box.querySelector("pre").dataset.language,
                nested: all("ol > li > ul > li", (li) => li.textContent),
                cells: all("td", (td) => `${td.textContent}|${td.className}`),
                breaks: box.querySelectorAll("br").length,
                text: box.textContent,
                images: box.querySelectorAll("img").length,
            };
        }""",
        RENDERER_SAMPLE,
    )
    assert shape["headings"] == ["H1#md-title", "H2#md-intro", "H2#md-intro-1"]
    assert shape["links"] == [
        "#md-intro",
        "#md-intro-1",
        "https://e.com/a_(b)",
        "https://auto.link/",
        "https://e.com/x.png",
    ]
    assert shape["code"] == ["a <b>", 'return "<b>"']
    assert shape["language"] == "python"
    assert shape["nested"] == ["nested"]
    assert shape["cells"] == ["-o|", "out | put|align-right"]
    assert shape["breaks"] == 1
    assert "snake_case_name" in shape["text"]
    assert "[image: logo]" in shape["text"]
    assert "bad" in shape["text"]
    assert shape["images"] == 0
