"""Golden fixtures: real pages of docs generators and their expected markdown.

Each ``tests/fixtures/<generator>/<page>.html`` has a ``.md`` beside it, checked by eye once.
After an intended change, rewrite them with ``DOCSPASTA_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from docspasta.core.page import analyze_page

FIXTURES = Path(__file__).parent.parent / "fixtures"

#: fixture path, the URL it was served from, the generator it must be detected as.
GOLDEN: list[tuple[str, str, str]] = [
    ("sphinx/webbrowser.html", "https://docs.python.org/3.11/library/webbrowser.html", "sphinx"),
    ("sphinx/site.html", "https://docs.python.org/3.11/library/site.html", "sphinx"),
    ("mkdocs/usage.html", "https://tiny.example.com/usage/", "mkdocs"),
    (
        "mdbook/ch03-01-variables-and-mutability.html",
        "https://doc.rust-lang.org/book/ch03-01-variables-and-mutability.html",
        "mdbook",
    ),
    ("rustdoc/fn.swap.html", "https://doc.rust-lang.org/std/mem/fn.swap.html", "rustdoc"),
    (
        "javadoc/Supplier.html",
        "https://docs.oracle.com/en/java/javase/17/docs/api/java.base/java/util/function/Supplier.html",
        "javadoc",
    ),
    ("doxygen/struct_SDL_SysWMEvent.html", "https://sdl.example.org/d8/d14/struct.html", "doxygen"),
    ("doxygen/README-n3ds.html", "https://sdl.example.org/d6/df1/md_n3ds.html", "doxygen"),
    (
        "docbook/admon.graphics.html",
        "https://docbook.example.org/html/admon.graphics.html",
        "docbook",
    ),
    ("vitepress/guide.html", "https://widgetry.example.com/guide.html", "vitepress"),
    ("docusaurus/user-guide.html", "https://widgetry.example.com/docs/user-guide", "docusaurus"),
    ("starlight/user-guide.html", "https://widgetry.example.com/guides/user-guide/", "starlight"),
    ("nextra/guide.html", "https://widgetry.example.com/guide", "nextra"),
    ("furo/guide.html", "https://widgetry.example.com/guide.html", "sphinx"),
    ("pydata/guide.html", "https://widgetry.example.com/guide.html", "sphinx"),
    ("sphinx_rtd/guide.html", "https://widgetry.example.com/guide.html", "sphinx"),
    ("sphinx_book/guide.html", "https://widgetry.example.com/guide.html", "sphinx"),
    ("pydoctor/widgetry.html", "https://widgetry.example.com/api/widgetry.html", "pydoctor"),
]


@pytest.mark.parametrize(("name", "url", "generator"), GOLDEN, ids=[row[0] for row in GOLDEN])
def test_golden_page(name: str, url: str, generator: str) -> None:
    html = (FIXTURES / name).read_bytes()
    page = analyze_page(html, url)
    expected_path = (FIXTURES / name).with_suffix(".md")
    if os.environ.get("DOCSPASTA_UPDATE_GOLDEN"):
        expected_path.write_text(page.markdown, encoding="utf-8")
    assert page.generator == generator
    assert page.rejection is None
    assert page.fidelity.losses() == ()
    assert page.markdown == expected_path.read_text(encoding="utf-8")


def test_golden_fixtures_are_all_listed() -> None:
    listed = {row[0] for row in GOLDEN}
    on_disk = {str(path.relative_to(FIXTURES)) for path in FIXTURES.glob("*/*.html")}
    assert on_disk == listed
