"""URL normalisation, hashing and scope."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docspasta.core.urls import Scope, normalize_url, resolve_link, url_hash
from docspasta.errors import InvalidOptionError

BASE = "https://docs.example.com/docs/guide/intro.html"


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("HTTP://Example.COM", None, "http://example.com/"),
        ("https://example.com", None, "https://example.com/"),
        ("http://example.com:80/a", None, "http://example.com/a"),
        ("https://example.com:443/a", None, "https://example.com/a"),
        ("https://example.com:8443/a", None, "https://example.com:8443/a"),
        ("http://example.com:443/a", None, "http://example.com:443/a"),
        ("https://e.com/a/./b/../c#frag", None, "https://e.com/a/c"),
        ("https://e.com/../../a", None, "https://e.com/a"),
        ("https://e.com/docs/", None, "https://e.com/docs/"),
        ("https://e.com/a/..", None, "https://e.com/"),
        ("../api/index.html", BASE, "https://docs.example.com/docs/api/"),
        ("setup.html#install", BASE, "https://docs.example.com/docs/guide/setup.html"),
        ("#top", BASE, BASE),
        ("?page=2", BASE, BASE + "?page=2"),
        ("//other.org/x", BASE, "https://other.org/x"),
        ("/root", BASE, "https://docs.example.com/root"),
        ("  https://e.com/x  ", None, "https://e.com/x"),
        ("https://e.com/a b", None, "https://e.com/a%20b"),
        ("https://e.com/%7euser", None, "https://e.com/%7Euser"),
        ("https://e.com/p?b=2&a=1", None, "https://e.com/p?b=2&a=1"),
        (
            "https://e.com/p?utm_source=x&a=1&gclid=2&fbclid=3&UTM_Medium=y",
            None,
            "https://e.com/p?a=1",
        ),
        ("https://e.com/p?utm_campaign=spring", None, "https://e.com/p"),
        ("https://[::1]:8080/a", None, "https://[::1]:8080/a"),
        ("https://Bücher.example/", None, "https://xn--bcher-kva.example/"),
        ("mailto:someone@example.com", None, None),
        ("javascript:void(0)", BASE, None),
        ("data:text/html,hi", None, None),
        ("ftp://example.com/file", None, None),
        ("tel:+123", BASE, None),
        ("https://user:secret@example.com/", None, None),
        ("https://user@example.com/", None, None),
        ("https://example.com:99999/", None, None),
        ("http:///path-only", None, None),
        ("not a url", None, None),
    ],
)
def test_normalize_url(url: str, base: str | None, expected: str | None) -> None:
    assert normalize_url(url, base) == expected


@pytest.mark.parametrize(
    "url",
    [
        "HTTP://Example.COM:80/A/./b/../C?utm_source=x&q=1#f",
        "https://e.com/a b/%7e/ü?x=ä y",
        "https://e.com/a/%2e%2e/b",
        "https://e.com//double//slash/",
        "https://e.com/p?a=1&&b=&c",
        "https://[2001:DB8::1]/x",
        "https://e.com/a/b/..",
    ],
)
def test_normalize_url_is_idempotent(url: str) -> None:
    once = normalize_url(url)
    assert once is not None
    assert normalize_url(once) == once


def test_url_hash_is_sha256_of_the_url() -> None:
    url = "https://e.com/a"
    assert url_hash(url) == hashlib.sha256(b"https://e.com/a").hexdigest()
    assert url_hash(url) != url_hash("https://e.com/b")


@pytest.mark.parametrize(
    ("start", "prefix", "extra"),
    [
        ("https://e.com/docs/guide/intro.html", "/docs/guide/", frozenset()),
        ("https://e.com/docs/guide/", "/docs/guide/", frozenset()),
        ("https://e.com/docs/guide", "/docs/guide/", frozenset({"/docs/guide"})),
        ("https://e.com/", "/", frozenset()),
        ("https://e.com", "/", frozenset()),
        ("https://e.com/index.html", "/", frozenset()),
        ("https://e.com/docs/guide/?v=2", "/docs/guide/", frozenset()),
    ],
)
def test_scope_for_start_url(start: str, prefix: str, extra: frozenset[str]) -> None:
    scope = Scope.for_start_url(start)
    assert (scope.scheme, scope.host) == ("https", "e.com")
    assert scope.path_prefix == prefix
    assert scope.extra_paths == extra


def test_scope_keeps_a_non_default_port() -> None:
    scope = Scope.for_start_url("HTTP://E.com:8080/docs/")
    assert (scope.scheme, scope.host) == ("http", "e.com:8080")
    assert scope.contains("http://e.com:8080/docs/a")
    assert not scope.contains("http://e.com/docs/a")


@pytest.mark.parametrize(
    ("start", "url", "inside"),
    [
        ("https://e.com/docs/guide/intro.html", "https://e.com/docs/guide/setup.html", True),
        ("https://e.com/docs/guide/intro.html", "https://e.com/docs/guide/", True),
        ("https://e.com/docs/guide/intro.html", "https://e.com/docs/guide/a/b?x=1", True),
        ("https://e.com/docs/guide/intro.html", "https://e.com/docs/api.html", False),
        ("https://e.com/docs/guide/intro.html", "https://e.com/docs/guide", False),
        ("https://e.com/docs/guide/intro.html", "http://e.com/docs/guide/setup.html", False),
        ("https://e.com/docs/guide/intro.html", "https://www.e.com/docs/guide/x", False),
        ("https://e.com/docs/guide", "https://e.com/docs/guide", True),
        ("https://e.com/docs/guide", "https://e.com/docs/guide?tab=1", True),
        ("https://e.com/docs/guide", "https://e.com/docs/guide/setup", True),
        ("https://e.com/docs/guide", "https://e.com/docs/guidebook", False),
        ("https://e.com/docs/guide", "https://e.com/docs/", False),
        ("https://e.com/", "https://e.com/anything/at/all", True),
        ("https://e.com/index.html", "https://e.com/blog/post", True),
        ("https://e.com/index.html", "https://other.com/", False),
    ],
)
def test_scope_contains(start: str, url: str, inside: bool) -> None:
    assert Scope.for_start_url(start).contains(url) is inside


def test_scope_refuses_a_non_web_start_url() -> None:
    with pytest.raises(InvalidOptionError):
        Scope.for_start_url("ftp://e.com/docs/")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://e.com/docs/index.html", "https://e.com/docs/"),
        ("https://e.com/docs/INDEX.HTM", "https://e.com/docs/"),
        ("https://e.com/index.html?x=1", "https://e.com/?x=1"),
        ("https://e.com/docs/index.html#top", "https://e.com/docs/"),
        ("https://e.com/docs/myindex.html", "https://e.com/docs/myindex.html"),
        ("https://e.com/docs/index.html/", "https://e.com/docs/index.html/"),
        ("https://e.com/a;jsessionid=ABC123/b.html", "https://e.com/a/b.html"),
        ("https://e.com/b.html;JSESSIONID=ABC123", "https://e.com/b.html"),
        ("https://e.com/p?PHPSESSID=abc&page=2", "https://e.com/p?page=2"),
        ("https://e.com/p?sid=1&sessionid=2", "https://e.com/p"),
        (
            "https://e.com/p?_hsenc=a&mkt_tok=b&pk_campaign=c&mtm_source=d&srsltid=e",
            "https://e.com/p",
        ),
        ("https://e.com/p?ref=main", "https://e.com/p?ref=main"),
    ],
)
def test_canonical_twins_are_one_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected
    assert normalize_url(expected) == expected


_BASES = [
    "http://docs.example/",
    "http://docs.example/guide/intro.html",
    "http://docs.example/guide/",
    "http://docs.example/a/b/c?x=1",
    "https://docs.example:8443/api/v1/x.html",
    "http://docs.example",
    "http://docs.example/p;jsessionid=1/q.html",
]
_HREFS = [
    "",
    "#top",
    "?page=2",
    "?page=2#x",
    "next.html",
    "next.html#section",
    "./next.html",
    "../up.html",
    "../../../../way-up.html",
    "/root.html",
    "//other.example/x",
    "https://other.example/y?utm_source=z",
    "sub/dir/",
    "sub/index.html",
    " spaced.html ",
    "mailto:someone@docs.example",
    "javascript:void(0)",
    "a%2fb.html",
    "caf\u00e9.html",
    ";params",
    "..",
    ".",
]


@pytest.mark.parametrize("base", _BASES)
def test_resolve_link_is_normalize_url_against_the_base(base: str) -> None:
    # Twice: the second round is served by the cache and must not differ either.
    for _ in range(2):
        for href in _HREFS:
            assert resolve_link(href, base) == normalize_url(href, base), (href, base)


@settings(max_examples=1500, deadline=None)
@given(
    base=st.sampled_from(_BASES),
    href=st.text(alphabet="ab.-_~/%?#;:@=&+ AZ09\u00e9", max_size=24),
)
def test_resolve_link_equals_normalize_url_for_any_reference(base: str, href: str) -> None:
    assert resolve_link(href, base) == normalize_url(href, base)
