"""--include-path / --exclude-path: the documented glob semantics, as a table."""

from __future__ import annotations

import pytest

from docspasta.core.pathfilter import PathFilter, glob_to_regex


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/docs/api/", "/docs/api/", True),
        ("/docs/api/", "/docs/api/x/y.html", True),
        ("/docs/api/", "/docs/apis/", False),
        ("/docs/*.html", "/docs/a.html", True),
        ("/docs/*.html", "/docs/sub/a.html", False),  # '*' stays within a segment
        ("/docs/**.html", "/docs/sub/a.html", True),  # '**' crosses segments
        ("/docs/**/ref.html", "/docs/a/b/ref.html", True),
        ("/docs/api", "/docs/api/", False),  # no trailing '/': the whole path must match
        ("/docs/api", "/docs/api", True),
        ("api/*.html", "/docs/api/x.html", True),  # no leading '/': at any depth
        ("api/*.html", "/docs/myapi/x.html", False),  # ...from the start of a segment
        ("changelog/", "/v2/changelog/2024.html", True),
        ("*.pdf.html", "/a/b/c.pdf.html", True),
        ("/A/", "/a/", False),  # case-sensitive
        ("/a+b/", "/a+b/x", True),  # regex characters are literal
    ],
)
def test_glob(pattern: str, path: str, matches: bool) -> None:
    assert (glob_to_regex(pattern).fullmatch(path) is not None) is matches


@pytest.mark.parametrize(
    ("include", "exclude", "url", "verdict"),
    [
        ((), (), "https://e.com/docs/a.html", None),
        (("/docs/api/",), (), "https://e.com/docs/api/x.html", None),
        (("/docs/api/",), (), "https://e.com/docs/guide/x.html", "matches no --include-path"),
        (
            (),
            ("/docs/old/",),
            "https://e.com/docs/old/x.html",
            "excluded by --exclude-path /docs/old/",
        ),
        (("/docs/",), ("/docs/old/",), "https://e.com/docs/old/x", "excluded by --exclude-path"),
        (("/docs/", "/api/"), (), "https://e.com/api/x", None),
        ((), ("*.html",), "https://e.com/docs/a.html?x=1.html", "excluded by"),  # path only
        ((), ("/docs/a.html",), "https://e.com/docs/a.html?page=2", "excluded by"),
    ],
)
def test_path_filter(
    include: tuple[str, ...], exclude: tuple[str, ...], url: str, verdict: str | None
) -> None:
    found = PathFilter(include, exclude).verdict(url)
    if verdict is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(verdict)
