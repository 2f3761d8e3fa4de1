"""robots.txt policy."""

from __future__ import annotations

import pytest

from docspasta.core.robots import RobotsPolicy

ROBOTS = """
User-agent: *
Disallow: /private/
Allow: /private/open.html
Crawl-delay: 2.5

User-agent: docspasta
Disallow: /no-bots/

Sitemap: https://e.com/sitemap.xml
Sitemap: https://e.com/docs/sitemap.xml
"""


@pytest.mark.parametrize(
    ("user_agent", "url", "allowed"),
    [
        ("somebot", "https://e.com/docs/", True),
        ("somebot", "https://e.com/private/secret.html", False),
        ("somebot", "https://e.com/private/open.html", True),
        ("docspasta", "https://e.com/no-bots/page", False),
        ("docspasta", "https://e.com/private/secret.html", True),
        ("docspasta/1.0", "https://e.com/no-bots/page", False),
    ],
)
def test_allowed(user_agent: str, url: str, allowed: bool) -> None:
    assert RobotsPolicy.from_text(ROBOTS, user_agent).allowed(url) is allowed


def test_crawl_delay_and_sitemaps() -> None:
    policy = RobotsPolicy.from_text(ROBOTS, "somebot")
    assert policy.crawl_delay == pytest.approx(2.5)
    assert policy.sitemaps == ["https://e.com/sitemap.xml", "https://e.com/docs/sitemap.xml"]
    assert RobotsPolicy.from_text(ROBOTS, "docspasta").crawl_delay is None


@pytest.mark.parametrize("text", [None, "", "   \n"])
def test_missing_or_empty_robots_allows_everything(text: str | None) -> None:
    policy = RobotsPolicy.from_text(text, "docspasta")
    assert policy.allowed("https://e.com/private/x")
    assert policy.crawl_delay is None
    assert policy.sitemaps == []


def test_disallow_everything() -> None:
    policy = RobotsPolicy.from_text("User-agent: *\nDisallow: /\n", "docspasta")
    assert not policy.allowed("https://e.com/")
    assert not policy.allowed("https://e.com/docs/a.html")


def test_allow_all_and_deny_all() -> None:
    assert RobotsPolicy.allow_all("x").allowed("https://e.com/a")
    denied = RobotsPolicy.deny_all("x")
    assert not denied.allowed("https://e.com/a")
    assert denied.sitemaps == []
    assert denied.crawl_delay is None
