"""docspasta: turn a documentation website into one clean, LLM-ready markdown document.

The Python API (``docspasta.library``, loaded on first use so that ``import docspasta`` stays
fast)::

    import docspasta

    doc = await docspasta.crawl("https://docs.example.com/guide/", max_pages=50)
    doc = docspasta.crawl_sync("https://docs.example.com/guide/")
    site = await docspasta.map("https://docs.example.com/guide/")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from docspasta.domain import CrawlOptions, ProgressSnapshot
    from docspasta.errors import (
        BlockedURLError,
        DocspastaError,
        InvalidOptionError,
        JobFailedError,
        JobNotFoundError,
    )
    from docspasta.library import (
        Document,
        Excerpt,
        Page,
        SearchHit,
        SiteMap,
        crawl,
        crawl_sync,
        map,
        map_sync,
    )

#: Public name -> the module that defines it, imported on first use.
_LAZY = {
    **dict.fromkeys(
        ("Document", "Excerpt", "Page", "SearchHit", "SiteMap", "crawl", "crawl_sync", "map"),
        "docspasta.library",
    ),
    "map_sync": "docspasta.library",
    "CrawlOptions": "docspasta.domain",
    "ProgressSnapshot": "docspasta.domain",
    **dict.fromkeys(
        (
            "BlockedURLError",
            "DocspastaError",
            "InvalidOptionError",
            "JobFailedError",
            "JobNotFoundError",
        ),
        "docspasta.errors",
    ),
}


def __getattr__(name: str) -> object:
    """Load the Python API on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'docspasta' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "BlockedURLError",
    "CrawlOptions",
    "DocspastaError",
    "Document",
    "Excerpt",
    "InvalidOptionError",
    "JobFailedError",
    "JobNotFoundError",
    "Page",
    "ProgressSnapshot",
    "SearchHit",
    "SiteMap",
    "__version__",
    "crawl",
    "crawl_sync",
    "map",
    "map_sync",
]
