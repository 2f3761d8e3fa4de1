"""Sitemap parsing: XML url sets and indexes, namespaces, gzip, plain text, bombs."""

from __future__ import annotations

import gzip

import pytest

from docspasta.core.sitemaps import SitemapError, SitemapKind, gunzip, parse_sitemap

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"
        xmlns:xhtml="http://www.w3.org/1999/xhtml">
  <url><loc>https://e.com/docs/a.html</loc><lastmod>2024-01-01</lastmod></url>
  <url>
    <loc>
      https://e.com/docs/b.html?x=1&amp;y=2
    </loc>
    <image:image><image:loc>https://e.com/img.png</image:loc></image:image>
    <xhtml:link rel="alternate" hreflang="fr" href="https://e.com/fr/docs/b.html"/>
  </url>
  <url><loc><![CDATA[https://e.com/docs/c.html?a=1&b=2]]></loc></url>
  <url><lastmod>2024-01-01</lastmod></url>
</urlset>
"""

INDEX = b"""<?xml version="1.0"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://e.com/sitemap-docs.xml.gz</loc></sitemap>
  <sitemap><loc>https://e.com/sitemap-blog.xml</loc></sitemap>
</sitemapindex>"""


def test_urlset_gives_the_page_locs_in_order() -> None:
    sitemap = parse_sitemap(URLSET)
    assert sitemap.kind is SitemapKind.URLSET
    assert not sitemap.is_index
    assert sitemap.urls == (
        "https://e.com/docs/a.html",
        "https://e.com/docs/b.html?x=1&y=2",
        "https://e.com/docs/c.html?a=1&b=2",
    )


def test_index_gives_the_sitemap_locs() -> None:
    sitemap = parse_sitemap(INDEX)
    assert sitemap.is_index
    assert sitemap.urls == ("https://e.com/sitemap-docs.xml.gz", "https://e.com/sitemap-blog.xml")


def test_gzip_is_undone() -> None:
    assert parse_sitemap(gzip.compress(URLSET)) == parse_sitemap(URLSET)


def test_prefixed_namespace() -> None:
    data = (
        b'<sm:urlset xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sm:url><sm:loc>https://e.com/a</sm:loc></sm:url></sm:urlset>"
    )
    assert parse_sitemap(data).urls == ("https://e.com/a",)


def test_plain_text_sitemap() -> None:
    data = b"\xef\xbb\xbfhttps://e.com/a\r\n\r\nhttps://e.com/b\n"
    sitemap = parse_sitemap(data)
    assert (sitemap.kind, sitemap.urls) == (
        SitemapKind.TEXT,
        ("https://e.com/a", "https://e.com/b"),
    )


def test_entities_are_not_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<urlset><url><loc>https://e.com/&lol2;</loc></url></urlset>"
    )
    assert parse_sitemap(bomb).urls == ("https://e.com/&lol2;",)


def test_broken_xml_gives_what_it_holds() -> None:
    data = b"<urlset><url><loc>https://e.com/a</loc></url><url><loc>https://e.com/b</loc>"
    assert parse_sitemap(data).urls == ("https://e.com/a",)


@pytest.mark.parametrize(
    "data",
    [b"<!doctype html><html><body>Not found</body></html>", b'{"urls": []}', b"", b"hello\nworld"],
)
def test_not_a_sitemap(data: bytes) -> None:
    with pytest.raises(SitemapError):
        parse_sitemap(data)


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000)
    with pytest.raises(SitemapError, match="more than 1000000 bytes"):
        parse_sitemap(bomb, limit=1_000_000)


def test_corrupt_gzip() -> None:
    with pytest.raises(SitemapError, match="corrupt"):
        gunzip(gzip.compress(URLSET)[:-30])


def test_uncompressed_data_is_returned_as_is() -> None:
    assert gunzip(b"<urlset/>") == b"<urlset/>"
