"""Sibling versions and translations of the docs being crawled.

Docs sites often serve the same pages once per version (``/v1/`` ``/v2/``, ``/3.11/``,
``/latest/`` ``/stable/``) and once per language (``/en/`` ``/fr/``, ``/pt-br/``, ``?lang=``).
A crawl keeps the start URL's version and language: :func:`sibling_reason` tells whether a URL
is another one.

The rule compares the URL's directory segments with the start URL's. At the first position
where they differ, the URL is a sibling when its segment is a version (``v2``, ``1.4``,
``2.x``, ``latest``, ``stable``, ``dev``, ``next``, ``nightly``, ``master``) or a language code
(``fr``, ``pt-br``, ``zh_CN``, ``zh-hans``) — whether the start URL has another one there or
none at all (``/docs/intro`` vs ``/docs/1.0/intro``). A ``lang``/``hl``/``locale``/``language``
query parameter different from the start URL's marks a translation too. Only directories count
(``/whatsnew/3.11.html`` is a page, not a version).

Pure: strings in, answers out.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

_NUMBERED = re.compile(r"v?\d+(?:\.(?:\d+|x))*(?:[-.]?(?:rc|beta|alpha|b|a)\d*)?", re.IGNORECASE)
_NAMED_VERSIONS = frozenset(
    {"latest", "stable", "dev", "devel", "next", "nightly", "master", "unstable", "canary"}
)
#: ISO 639-1 codes docs sites use, minus those that are common English path words.
_LANGUAGES = frozenset(
    [
        "af",
        "ar",
        "az",
        "bg",
        "bn",
        "bs",
        "ca",
        "cs",
        "cy",
        "da",
        "de",
        "el",
        "en",
        "eo",
        "es",
        "et",
        "eu",
        "fa",
        "fi",
        "fr",
        "ga",
        "gu",
        "he",
        "hi",
        "hr",
        "hu",
        "hy",
        "it",
        "ja",
        "kk",
        "km",
        "kn",
        "ko",
        "ky",
        "lo",
        "lt",
        "lv",
        "mk",
        "mn",
        "mr",
        "ms",
        "mt",
        "nb",
        "ne",
        "nl",
        "nn",
        "pa",
        "pl",
        "pt",
        "ro",
        "ru",
        "sk",
        "sl",
        "sq",
        "sr",
        "sv",
        "ta",
        "te",
        "th",
        "tl",
        "tr",
        "uk",
        "ur",
        "uz",
        "vi",
        "zh",
    ]
)
_LOCALE = re.compile(r"([a-z]{2})(?:[-_](?:[a-z]{2}|\d{3}|hans|hant|latn|cyrl))?", re.IGNORECASE)
_LANG_PARAMS = frozenset({"lang", "hl", "locale", "language"})


def version_of(segment: str) -> str | None:
    """The segment itself when it names a docs version, else None."""
    text = unquote(segment)
    if text.lower() in _NAMED_VERSIONS or (
        _NUMBERED.fullmatch(text) and any(c.isdigit() for c in text)
    ):
        return text
    return None


def locale_of(segment: str) -> str | None:
    """The segment itself when it is a language (``fr``, ``pt-BR``, ``zh_hans``), else None."""
    match = _LOCALE.fullmatch(unquote(segment))
    if match and match.group(1).lower() in _LANGUAGES:
        return segment
    return None


def _directories(path: str) -> list[str]:
    segments = path.split("/")[1:]
    return [s for s in segments[:-1] if s]  # the last one is the page (empty for a directory)


def _query_language(query: str) -> str | None:
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name.lower() in _LANG_PARAMS:
            return value.strip().lower()
    return None


def sibling_reason(start_url: str, url: str) -> str | None:
    """None when ``url`` is in the start URL's version and language, else what it is instead.

    ``"another version (v1)"`` / ``"another language (fr)"``; both URLs are normalised.
    """
    start, other = urlsplit(start_url), urlsplit(url)
    if start.netloc == other.netloc:
        mine, theirs = _directories(start.path), _directories(other.path)
        for index, segment in enumerate(theirs):
            if index < len(mine) and mine[index] == segment:
                continue
            if version_of(segment):
                return f"another version ({segment})"
            if locale_of(segment):
                return f"another language ({segment})"
            break
    language = _query_language(other.query)
    if language is not None and language != _query_language(start.query):
        return f"another language (?{language})"
    return None
