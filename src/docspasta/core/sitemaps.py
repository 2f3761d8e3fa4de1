"""Sitemap parsing: bytes in, URLs out (sitemaps.org protocol, XML or plain text, gzip).

:func:`parse_sitemap` reads one sitemap file: a ``<urlset>`` gives page URLs, a
``<sitemapindex>`` gives the URLs of more sitemaps to read (the caller fetches them, bounded).
The XML is read with a tolerant scanner, never an XML parser: no entity is expanded (no
"billion laughs"), no DTD or external resource is loaded, and broken files give what they hold.
Only the sitemap's own ``<loc>`` elements count: ``<image:loc>``, ``<xhtml:link>`` alternates and
``<video:...>`` entries are ignored.

Pure: nothing here fetches.
"""

from __future__ import annotations

import html
import re
import zlib
from dataclasses import dataclass
from enum import StrEnum

#: The protocol's limit for one uncompressed sitemap file.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?(urlset|sitemapindex)[\s>/]", re.IGNORECASE)
_CDATA = re.compile(r"^<!\[CDATA\[(.*)\]\]>$", re.DOTALL)


class SitemapKind(StrEnum):
    """What a sitemap file lists."""

    URLSET = "urlset"
    """Page URLs."""
    INDEX = "sitemapindex"
    """URLs of further sitemap files."""
    TEXT = "text"
    """A plain-text sitemap: one page URL per line."""


@dataclass(frozen=True)
class Sitemap:
    """One parsed sitemap file: its kind and its ``<loc>`` URLs in file order, as written."""

    kind: SitemapKind
    urls: tuple[str, ...]

    @property
    def is_index(self) -> bool:
        return self.kind is SitemapKind.INDEX


class SitemapError(ValueError):
    """The bytes are not a sitemap (or exceed the size limit once decompressed)."""


def gunzip(data: bytes, limit: int = MAX_SITEMAP_BYTES) -> bytes:
    """Undo gzip if ``data`` is gzip-compressed (by its magic bytes), never beyond ``limit``.

    Raises :class:`SitemapError` when the data is corrupt or decompresses to more than
    ``limit`` bytes (a compression bomb).
    """
    if not data.startswith(_GZIP_MAGIC):
        return data
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decoder.decompress(data, limit + 1)
    except zlib.error as exc:
        raise SitemapError(f"corrupt gzip data: {exc}") from exc
    if len(out) > limit or decoder.unconsumed_tail:
        raise SitemapError(f"decompresses to more than {limit} bytes")
    if not decoder.eof:
        raise SitemapError("corrupt gzip data: truncated")
    return out


def _loc_pattern(prefix: bytes | None) -> re.Pattern[str]:
    name = f"{re.escape(prefix.decode())}:loc" if prefix else "loc"
    return re.compile(rf"<{name}\s*>(.*?)</{name}\s*>", re.IGNORECASE | re.DOTALL)


def _clean_loc(raw: str) -> str:
    raw = raw.strip()
    cdata = _CDATA.match(raw)
    if cdata:
        return cdata.group(1).strip()
    return html.unescape(raw).strip()


def _entries(text: str, kind: SitemapKind, prefix: bytes | None) -> list[str]:
    """The ``<loc>`` of each ``<url>`` (or ``<sitemap>``) element, in order."""
    element = "url" if kind is SitemapKind.URLSET else "sitemap"
    tag = f"{re.escape(prefix.decode())}:{element}" if prefix else element
    blocks = re.findall(rf"<{tag}[\s>](.*?)</{tag}\s*>", text, re.IGNORECASE | re.DOTALL)
    loc = _loc_pattern(prefix)
    urls: list[str] = []
    for block in blocks:
        found = loc.search(block)
        if found:
            url = _clean_loc(found.group(1))
            if url:
                urls.append(url)
    return urls


def parse_sitemap(data: bytes, *, limit: int = MAX_SITEMAP_BYTES) -> Sitemap:
    """Parse one sitemap file (gzip-compressed or not).

    XML ``<urlset>`` and ``<sitemapindex>`` files and plain-text sitemaps (one absolute
    ``http(s)`` URL per line) are understood. Raises :class:`SitemapError` for anything else
    (an HTML error page, JSON...) and for data larger than ``limit`` once decompressed.
    """
    data = gunzip(data, limit)
    if len(data) > limit:
        raise SitemapError(f"larger than {limit} bytes")
    root = _ROOT.search(data[:4096]) or _ROOT.search(data)
    if root is not None:
        kind = SitemapKind(root.group(2).decode().lower())
        prefix = root.group(1)
        text = data.decode("utf-8", errors="replace")
        return Sitemap(kind, tuple(_entries(text, kind, prefix)))
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and all(re.match(r"https?://\S+$", line, re.IGNORECASE) for line in lines):
        return Sitemap(SitemapKind.TEXT, tuple(lines))
    raise SitemapError("not a sitemap (no <urlset> or <sitemapindex>, not a list of URLs)")
