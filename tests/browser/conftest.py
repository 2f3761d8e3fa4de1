"""A real headless Chromium (Debian's ``chromium``, driven by Playwright) against a real server.

No browser is downloaded: Playwright starts ``/usr/bin/chromium`` (``DOCSPASTA_CHROMIUM``).
axe-core comes from npm (``npm ci`` in this folder). Screenshots go to ``artifacts/screenshots``
(``DOCSPASTA_SCREENSHOTS``), which is not committed.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from docspasta.settings import Settings
from docspasta.store import Store
from tests.api.conftest import Service, start_service, stop_service

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
CHROMIUM = Path(os.environ.get("DOCSPASTA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("DOCSPASTA_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


def _require(path: Path, how: str) -> None:
    """Missing tools skip on a developer's machine and fail in CI (where .ci/run installs them)."""
    if path.exists():
        return
    message = f"{path} is missing: {how}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    """SQLite settings with fast progress polls (the page is the subject, not the backend)."""
    return settings.model_copy(update={"sse_poll_seconds": 0.2})


@pytest.fixture
async def service(web_settings: Settings) -> AsyncIterator[Service]:
    """A loopback server with no API keys: the single local user."""
    running, task = await start_service(web_settings)
    yield running
    await stop_service(running, task)


async def create_key(settings: Settings, name: str) -> str:
    """An API key for ``name``. Created before a server starts, it ends the local-user mode:
    browsers then get the anonymous signed cookie."""
    store = await Store.open(settings.database_url)
    try:
        return (await store.create_user(name))[1]
    finally:
        await store.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    _require(CHROMIUM, "install Debian's chromium (apt-get install chromium; .ci/run does)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


async def new_page(
    browser: Browser, origin: str, *, viewport: dict[str, int] = DESKTOP, dark: bool = False
) -> Page:
    context: BrowserContext = await browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        device_scale_factor=2 if viewport == PHONE else 1,
        color_scheme="dark" if dark else "light",
        accept_downloads=True,
    )
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    page = await context.new_page()
    page.set_default_timeout(20_000)
    return page


async def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    await asyncio.to_thread(SCREENSHOTS.mkdir, parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


async def serious_accessibility_violations(page: Page) -> list[dict[str, object]]:
    """axe-core's serious and critical violations on the page as it is now."""
    _require(AXE, "run `npm ci` in tests/browser (scripts/test does)")
    await page.evaluate(await asyncio.to_thread(AXE.read_text, encoding="utf-8"))
    violations: list[dict[str, object]] = await page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
            }));
        }"""
    )
    return [v for v in violations if v["impact"] in ("serious", "critical")]


async def assert_accessible(page: Page) -> None:
    violations = await serious_accessibility_violations(page)
    assert not violations, json.dumps(violations, indent=2)
