"""Sibling versions and translations of the start URL are recognised and named."""

from __future__ import annotations

import pytest

from docspasta.core.variants import locale_of, sibling_reason, version_of


@pytest.mark.parametrize(
    ("start", "url", "reason"),
    [
        ("https://e.com/en/latest/", "https://e.com/en/latest/api.html", None),
        (
            "https://e.com/en/latest/",
            "https://e.com/en/stable/api.html",
            "another version (stable)",
        ),
        ("https://e.com/en/latest/", "https://e.com/fr/latest/", "another language (fr)"),
        ("https://e.com/docs/v2/", "https://e.com/docs/v1/intro.html", "another version (v1)"),
        ("https://e.com/3.11/library/", "https://e.com/3.12/library/", "another version (3.12)"),
        ("https://e.com/docs/", "https://e.com/docs/1.0/intro", "another version (1.0)"),
        ("https://e.com/docs/", "https://e.com/docs/next/intro", "another version (next)"),
        ("https://e.com/docs/", "https://e.com/docs/2.x/", "another version (2.x)"),
        ("https://e.com/docs/", "https://e.com/docs/pt-br/intro", "another language (pt-br)"),
        ("https://e.com/docs/", "https://e.com/docs/zh_CN/intro", "another language (zh_CN)"),
        ("https://e.com/", "https://e.com/de/", "another language (de)"),
        ("https://e.com/docs/", "https://e.com/docs/api/v1/users.html", None),  # deeper
        ("https://e.com/docs/", "https://e.com/docs/guide/", None),
        ("https://e.com/docs/", "https://e.com/docs/whatsnew/3.11.html", None),  # a page
        ("https://e.com/docs/", "https://e.com/docs/ml/", None),  # not taken for a language
        ("https://e.com/docs/", "https://e.com/docs/api.html?lang=fr", "another language (?fr)"),
        ("https://e.com/docs/?lang=fr", "https://e.com/docs/a.html?lang=fr", None),
        ("https://e.com/docs/?lang=fr", "https://e.com/docs/a.html?lang=de", "another language"),
        ("https://e.com/en/", "https://other.org/fr/", None),  # another host: scope's business
    ],
)
def test_sibling_reason(start: str, url: str, reason: str | None) -> None:
    found = sibling_reason(start, url)
    if reason is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(reason)


@pytest.mark.parametrize(
    ("segment", "version"),
    [("v1", True), ("1.2.3", True), ("3", True), ("latest", True), ("v2.0rc1", True)],
)
def test_versions(segment: str, version: bool) -> None:
    assert (version_of(segment) is not None) is version


@pytest.mark.parametrize("segment", ["api", "guide", "v", "version", "python3"])
def test_not_versions(segment: str) -> None:
    assert version_of(segment) is None


@pytest.mark.parametrize(
    ("segment", "locale"),
    [("fr", True), ("en-US", True), ("zh-hans", True), ("api", False), ("ml", False)],
)
def test_locales(segment: str, locale: bool) -> None:
    assert (locale_of(segment) is not None) is locale
