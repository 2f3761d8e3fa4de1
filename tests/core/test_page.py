"""analyze_page: links, decoding, counts."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from docspasta.core.page import analyze_page, decode_html, parse_html

URL = "https://docs.example.com/guide/intro.html"


def test_links_whole_page_in_order_deduplicated_without_self() -> None:
    html = """<html><body>
    <nav><a href="intro.html">Intro</a><a href="setup.html">Setup</a>
         <a href="../api/">API</a><a href="https://other.org/">Other</a></nav>
    <main><h1>Intro</h1>
      <p><a href="#part">here</a> <a href="setup.html#step-2">setup again</a>
      <a href="mailto:a@b.c">mail</a> <a href="javascript:void(0)">js</a>
      <a href="usage.html?utm_source=nav">usage</a> <a>no href</a> <a href="">empty</a>
      <a href="HTTPS://DOCS.example.com:443/guide/faq.html">faq</a></p>
    </main></body></html>"""
    page = analyze_page(html, URL)
    assert page.links == (
        "https://docs.example.com/guide/setup.html",
        "https://docs.example.com/api/",
        "https://other.org/",
        "https://docs.example.com/guide/usage.html",
        "https://docs.example.com/guide/faq.html",
    )


def test_links_use_base_href() -> None:
    html = '<head><base href="/v2/"></head><body><p><a href="start.html">s</a></p></body>'
    page = analyze_page(html, URL)
    assert page.links == ("https://docs.example.com/v2/start.html",)
    assert "(https://docs.example.com/v2/start.html)" in page.markdown


def test_counts() -> None:
    page = analyze_page("<main><h1>Hello</h1><p>hello world again</p></main>", URL)
    assert page.word_count == 4
    assert page.token_count > 0
    assert page.markdown == "# Hello\n\nhello world again\n"


@pytest.mark.parametrize(
    ("body", "encoding", "expected"),
    [
        ('<meta charset="iso-8859-1"><p>caf\xe9</p>'.encode("latin-1"), None, "café"),
        (
            b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
            b"<p>\x93q\x94</p>",
            None,
            "\u201cq\u201d",
        ),
        ("<p>café</p>".encode(), None, "café"),
        ("<p>café</p>".encode("latin-1"), "latin-1", "café"),
        ('<meta charset="latin-1"><p>café</p>'.encode(), "utf-8", "café"),
        (b"<p>caf\xe9</p>", None, "caf\ufffd"),
        (b"\xef\xbb\xbf<p>caf\xc3\xa9</p>", "latin-1", "café"),
        ('<meta charset="no-such-codec"><p>café</p>'.encode(), None, "café"),
    ],
)
def test_decoding(body: bytes, encoding: str | None, expected: str) -> None:
    assert expected in decode_html(body, encoding)
    page = analyze_page(body, URL, encoding=encoding)
    assert expected in page.markdown


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        ("<p>café ✓ 𝄞</p>".encode(), None),
        ("<p>café</p>".encode(), "utf-8"),
        ('<meta charset="windows-1252"><p>café</p>'.encode(), "utf-8"),  # the header wins
        ('<meta charset="windows-1252"><p>caf\xe9</p>'.encode("cp1252"), None),
        (b"\xef\xbb\xbf<p>caf\xc3\xa9</p>", "latin-1"),
        (b"<p>bad \xff\xfe end \xe2\x82</p>", None),  # not UTF-8: decoded, U+FFFD
        (b"<p>cut \xf0\x9d\x84</p><p>after</p>", "utf-8"),
        (b"<p>nul \x00 and \r\n lines</p>", None),
        (b"<p>\xed\xa0\x80 \xc0\xaf \xf4\x90\x80\x80 \xe0\x80</p>", None),  # never UTF-8
        ('<meta charset="latin-1"><p>café</p>'.encode(), None),  # UTF-8 bytes read as latin-1
    ],
)
def test_parse_html_reads_bytes_as_decode_html_decodes_them(
    body: bytes, encoding: str | None
) -> None:
    # UTF-8 goes to lexbor undecoded: the tree must be the one of the decoded text.
    assert parse_html(body, encoding).html == LexborHTMLParser(decode_html(body, encoding)).html


def test_empty_document() -> None:
    page = analyze_page(b"", URL)
    assert page.markdown == ""
    assert page.links == ()
    assert page.word_count == page.token_count == 0
    assert page.title == "intro"
