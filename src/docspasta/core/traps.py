"""Crawler traps: URLs that a site generates without end, refused by tested rules.

Each rule looks at one normalised URL and says why it is a trap, or nothing:

* **endless depth** — a path of more than :data:`MAX_SEGMENTS` segments, or a URL longer
  than :data:`MAX_URL_LENGTH` characters (relative links that keep adding a directory);
* **repeating segments** — one segment three times or more (``/a/x/a/y/a/``), or a run of two
  or more segments repeated back to back (``/docs/api/docs/api/``);
* **query explosion** — more than :data:`MAX_QUERY_PARAMS` parameters, or a parameter that
  only re-sorts, filters, searches or re-displays a page (``sort``, ``filter``, ``q``,
  ``replytocom``, ``action``...);
* **calendars** — a date-valued query parameter (``?date=2024-05-01``, ``?month=2024-05``) or
  one named for a calendar (``year``, ``month``, ``day``, ``week``), and calendar paths
  (a ``calendar``/``events`` segment followed by a year).

Session ids are not a rule here: :func:`~docspasta.core.urls.normalize_url` strips them, so
every visit's URL is the same page. What the rules let through is still bounded by the depth
limit and the page cap.

Pure: strings in, answers out.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

MAX_SEGMENTS = 24
MAX_URL_LENGTH = 2048
MAX_QUERY_PARAMS = 6
#: Parameters whose every value is another view of the same content.
EXPLOSION_PARAMS = frozenset(
    {
        "sort",
        "sortby",
        "sort_by",
        "order",
        "orderby",
        "order_by",
        "dir",
        "direction",
        "filter",
        "filters",
        "facet",
        "display",
        "print",
        "printable",
        "replytocom",
        "share",
        "action",
        "do",
        "oldid",
        "diff",
        "rev",
        "revision",
        "limit",
        "per_page",
        "perpage",
        "page_size",
        "pagesize",
        "offset",
        "q",
        "query",
        "search",
        "s",
    }
)
CALENDAR_PARAMS = frozenset({"date", "year", "month", "day", "week", "calendar", "cal", "ical"})
_DATE_VALUE = re.compile(r"(?:19|20|21)\d\d[-/.]?(?:0[1-9]|1[0-2])(?:[-/.]?[0-3]\d)?")
_YEAR = re.compile(r"(?:1[0-9]|2[0-9])\d\d")
_CALENDAR_SEGMENTS = frozenset({"calendar", "calendars", "events", "event", "agenda"})


def _depth_trap(url: str, segments: list[str]) -> str | None:
    if len(url) > MAX_URL_LENGTH:
        return f"endless depth: URL longer than {MAX_URL_LENGTH} characters"
    if len(segments) > MAX_SEGMENTS:
        return f"endless depth: more than {MAX_SEGMENTS} path segments"
    return None


def _repeat_trap(segments: list[str]) -> str | None:
    counts: dict[str, int] = {}
    for segment in segments:
        counts[segment] = counts.get(segment, 0) + 1
        if counts[segment] >= 3:
            return f"repeating path segment {segment!r}"
    for size in range(2, len(segments) // 2 + 1):
        for start in range(len(segments) - 2 * size + 1):
            run = segments[start : start + size]
            if run == segments[start + size : start + 2 * size]:
                return f"repeating path segments {'/'.join(run)!r}"
    return None


def _query_trap(query: str) -> str | None:
    if not query:
        return None
    pairs = parse_qsl(query, keep_blank_values=True)
    if len(pairs) > MAX_QUERY_PARAMS:
        return f"query explosion: more than {MAX_QUERY_PARAMS} query parameters"
    for name, value in pairs:
        key = name.strip().lower()
        if key in CALENDAR_PARAMS or _DATE_VALUE.fullmatch(value.strip()):
            return f"calendar: query parameter {name!r}"
        if key in EXPLOSION_PARAMS:
            return f"query explosion: query parameter {name!r}"
    return None


def _calendar_path_trap(segments: list[str]) -> str | None:
    for index, segment in enumerate(segments[:-1]):
        if segment.lower() in _CALENDAR_SEGMENTS and _YEAR.fullmatch(segments[index + 1]):
            return f"calendar: path {'/'.join(segments[index : index + 2])!r}"
    return None


def trap_reason(url: str) -> str | None:
    """None for an ordinary URL, else which trap rule refuses it (see the module docstring)."""
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    return (
        _depth_trap(url, segments)
        or _repeat_trap(segments)
        or _calendar_path_trap(segments)
        or _query_trap(parts.query)
    )
