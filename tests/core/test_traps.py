"""Crawler-trap rules, as a table: each trap is refused with its rule, ordinary URLs pass."""

from __future__ import annotations

import pytest

from docspasta.core.traps import trap_reason

DEEP = "https://e.com/" + "/".join(f"d{n}" for n in range(30)) + "/"


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("https://e.com/docs/guide/intro.html", None),
        ("https://e.com/docs/docs/intro.html", None),  # one repeat is a real layout
        ("https://e.com/a/b/a/c.html", None),
        ("https://e.com/docs/?page=2", None),
        ("https://e.com/docs/api.html?version=2&lang=en", None),
        ("https://e.com/blog/2024/05/release.html", None),
        ("https://e.com/x/a/y/a/z/a/", "repeating path segment 'a'"),
        ("https://e.com/docs/api/docs/api/index.html", "repeating path segments 'docs/api'"),
        ("https://e.com/a/b/c/a/b/c/", "repeating path segments 'a/b/c'"),
        (DEEP, "endless depth: more than 24 path segments"),
        ("https://e.com/p?" + "x" * 2100, "endless depth: URL longer than 2048 characters"),
        ("https://e.com/p?a=1&b=2&c=3&d=4&e=5&f=6&g=7", "query explosion: more than 6 query"),
        ("https://e.com/list?sort=asc", "query explosion: query parameter 'sort'"),
        ("https://e.com/list?Filter=x", "query explosion: query parameter 'Filter'"),
        ("https://e.com/search?q=foo", "query explosion: query parameter 'q'"),
        ("https://e.com/post?replytocom=12", "query explosion: query parameter 'replytocom'"),
        ("https://e.com/events?month=2024-05", "calendar: query parameter 'month'"),
        ("https://e.com/events?when=2024-05-01", "calendar: query parameter 'when'"),
        ("https://e.com/events?from=20240501", "calendar: query parameter 'from'"),
        ("https://e.com/calendar/2031/12/", "calendar: path 'calendar/2031'"),
    ],
)
def test_trap_rules(url: str, rule: str | None) -> None:
    reason = trap_reason(url)
    if rule is None:
        assert reason is None
    else:
        assert reason is not None
        assert reason.startswith(rule)
