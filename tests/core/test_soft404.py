"""The soft-404 rule reads 404 as an error code, not as any number in a title."""

from __future__ import annotations

import pytest

from docspasta.core.page import analyze_page


def page(title: str, heading: str) -> str:
    return (
        f"<html><head><title>{title}</title></head><body><main><h1>{heading}</h1>"
        "<p>Short text of this page.</p></main></body></html>"
    )


@pytest.mark.parametrize(
    ("title", "heading"),
    [
        ("404", "404"),
        ("404 - Docs", "Oops"),
        ("Error 404 | Example", "Something went wrong"),
        ("Docs", "404: this page is gone"),
        ("Page not found", "Nothing here"),
    ],
)
def test_error_pages_are_soft_404s(title: str, heading: str) -> None:
    rejection = analyze_page(page(title, heading), "https://d.test/x").rejection
    assert rejection is not None
    assert rejection.startswith("soft 404")


@pytest.mark.parametrize(
    ("title", "heading"),
    [("Page 404", "Page 404"), ("RFC 2404 notes", "RFC 2404"), ("Chapter 404", "Chapter 404")],
)
def test_a_number_404_in_a_title_is_not_an_error(title: str, heading: str) -> None:
    assert analyze_page(page(title, heading), "https://d.test/x").rejection is None
