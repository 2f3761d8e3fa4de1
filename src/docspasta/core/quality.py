"""Page quality: pages that must not enter the document, and a thinness score.

:func:`page_signals` reads, from the whole parsed page and before extraction changes it, what
only the full page shows (a meta refresh, a password field, an empty JavaScript app root).
:func:`rejection` then decides from those signals and the converted page:

============================  ==========================================================
reason (prefix)               when
============================  ==========================================================
``redirect stub``             a ``<meta http-equiv=refresh>`` with a URL and under 50 words
``soft 404``                  the title or first heading says "not found" / 404, under 300 words
``login wall``                a password field or "sign in to continue", under 150 words
``needs JavaScript``          under 30 words and an empty app root or a ``<noscript>`` asking
                              for JavaScript
``empty page``                no text at all in the main content
``thin page``                 :func:`quality_score` below the ``quality_threshold`` option
============================  ==========================================================

The word limits keep real pages that merely mention these words safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\";\s]+)", re.IGNORECASE)
_NOT_FOUND = re.compile(
    # 404 as an error code (leading, or beside "error" or a separator), not any number 404
    r"(?:^\s*404\b|\b404\s*(?:error\b|[-\u2013\u2014:|])|\berror\s*(?:code\s*)?404\b)|"
    r"\b(?:(?:page|file|document|resource)s? (?:was )?not found|not found|"
    r"page (?:does not|doesn't|no longer) exists?|can(?:'|no)t find (?:that|the|this) page)\b",
    re.IGNORECASE,
)
_LOGIN = re.compile(
    r"\b(?:(?:sign|log) ?in to (?:continue|view|access|read)|you must be (?:logged|signed) in|"
    r"please (?:sign|log) ?in|login required|authentication required)\b",
    re.IGNORECASE,
)
_NEEDS_JS = re.compile(
    r"\b(?:enable javascript|javascript (?:is )?(?:required|disabled)|"
    r"requires javascript|need to enable javascript|turn on javascript)\b",
    re.IGNORECASE,
)
_APP_ROOTS = "#root, #app, #__next, #__nuxt, #___gatsby, [data-reactroot], app-root"
_SIGNALS = f"meta[http-equiv], input[type=password], noscript, {_APP_ROOTS}"
_REDIRECT_WORDS = 50
_NOT_FOUND_WORDS = 300
_LOGIN_WORDS = 150
_SHELL_WORDS = 30
#: Words for a full quality score (a short reference page is not thin).
_FULL_SCORE_WORDS = 150


@dataclass(frozen=True)
class PageSignals:
    """What the whole page shows before extraction."""

    refresh_url: str | None = None
    has_password_field: bool = False
    empty_app_root: bool = False
    noscript_needs_js: bool = False


def page_signals(tree: LexborHTMLParser) -> PageSignals:
    """Read the page-level signals (call it before extraction modifies the tree).

    One query over the tree finds every element that can carry a signal.
    """
    refresh_url = None
    password = empty_root = noscript_js = False
    for node in tree.css(_SIGNALS):
        tag = node.tag
        if tag == "meta":
            if (
                refresh_url is None
                and (node.attributes.get("http-equiv") or "").lower() == "refresh"
            ):
                match = _REFRESH_URL.search(node.attributes.get("content") or "")
                refresh_url = match.group(1) if match else None
        elif tag == "input":
            password = True
        elif tag == "noscript":
            noscript_js = noscript_js or bool(_NEEDS_JS.search(node.text()))
        elif not empty_root:
            empty_root = not node.text(strip=True)
    return PageSignals(
        refresh_url=refresh_url,
        has_password_field=password,
        empty_app_root=empty_root,
        noscript_needs_js=noscript_js,
    )


def quality_score(word_count: int, link_words: int = 0) -> int:
    """0-100: how much prose a page holds, link text not counted."""
    prose = max(0, word_count - link_words)
    return min(100, round(100 * prose / _FULL_SCORE_WORDS))


def rejection(
    signals: PageSignals,
    *,
    title: str,
    first_heading: str,
    text: str,
    word_count: int,
    score: int,
    threshold: int = 0,
) -> str | None:
    """Why the page must be left out of the document, or ``None`` to keep it."""
    if signals.refresh_url and word_count < _REDIRECT_WORDS:
        return f"redirect stub (meta refresh to {signals.refresh_url})"
    if word_count < _NOT_FOUND_WORDS and any(
        _NOT_FOUND.search(candidate) for candidate in (title, first_heading) if candidate
    ):
        return f"soft 404 ({(first_heading or title)[:80]!r})"
    if word_count < _LOGIN_WORDS and (signals.has_password_field or _LOGIN.search(text)):
        return "login wall (the page asks to sign in)"
    if word_count < _SHELL_WORDS and (signals.empty_app_root or signals.noscript_needs_js):
        return "needs JavaScript (the page is an empty app shell)"
    if word_count == 0:
        return "empty page (no text in the main content)"
    if score < threshold:
        return f"thin page (quality {score} < threshold {threshold})"
    return None
