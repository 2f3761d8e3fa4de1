"""llms.txt: title and links, and the HTML page each link stands for."""

from __future__ import annotations

import pytest

from docspasta.core.llmstxt import page_url, parse_llms_txt

LLMS = """# Example Docs

> What this is.

## Guide

- [Intro](intro.html): start here
- [Install](/docs/install.html.md "markdown twin")
- [Index](https://e.com/docs/index.html.md)
- [Intro again](intro.html#top)
- ![logo](logo.png)
- [Mail](mailto:a@b.c)
- [Notes](notes.md)
"""


def test_parse_llms_txt() -> None:
    parsed = parse_llms_txt(LLMS, "https://e.com/docs/llms.txt")
    assert parsed.title == "Example Docs"
    assert parsed.links == (
        "https://e.com/docs/intro.html",
        "https://e.com/docs/install.html.md",
        "https://e.com/docs/index.html.md",
        "https://e.com/docs/notes.md",
    )


@pytest.mark.parametrize(
    ("link", "page"),
    [
        ("https://e.com/docs/a.html", "https://e.com/docs/a.html"),
        ("https://e.com/docs/a.html.md", "https://e.com/docs/a.html"),
        ("https://e.com/docs/index.html.md", "https://e.com/docs/"),
        ("https://e.com/docs/notes.md", None),
        ("https://e.com/docs/llms-full.txt", None),
        ("https://e.com/docs/guide/", "https://e.com/docs/guide/"),
    ],
)
def test_page_url(link: str, page: str | None) -> None:
    assert page_url(link) == page


def test_no_title() -> None:
    assert parse_llms_txt("- [a](https://e.com/a)", "https://e.com/llms.txt").title is None
