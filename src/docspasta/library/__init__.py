"""docspasta for Python programs: crawl a documentation site into a ``Document``, or map it.

::

    import docspasta

    doc = await docspasta.crawl("https://docs.example.com/guide/", max_pages=50)
    print(doc.title, len(doc.pages), doc.tokens)
    doc = docspasta.crawl_sync("http://127.0.0.1:8000/docs/", allow_private_hosts=["127.0.0.1"])

The same engine as the CLI: a job in the same database (``DOCSPASTA_DATABASE_URL``, default an
SQLite file in the user data directory), the same network guard and page cap, in-process
workers. Options are the ``CrawlOptions`` fields as keywords (``max_pages=50``, or a
``CrawlOptions`` as ``options=``); a bad one raises ``InvalidOptionError``, a refused URL
``BlockedURLError``, a failed crawl ``JobFailedError`` — all ``DocspastaError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

from docspasta.domain import CrawlOptions, ProgressSnapshot
from docspasta.library.document import Document, Excerpt, Page, SearchHit
from docspasta.library.jobs import ProgressCallback, build_settings, crawl_options, run_crawl
from docspasta.mapping import SiteMap, map_site
from docspasta.runtime import open_store
from docspasta.settings import Settings

_T = TypeVar("_T")


async def crawl(
    url: str,
    *,
    options: CrawlOptions | None = None,
    on_progress: ProgressCallback | None = None,
    allow_private_hosts: Iterable[str] = (),
    reuse: bool = False,
    database_url: str | None = None,
    settings: Settings | None = None,
    **option_values: Any,
) -> Document:
    """Crawl the documentation site at ``url`` and return its document.

    Args:
        url: the start URL; its directory is the crawl's scope (as ``docspasta crawl``).
        options: a ``CrawlOptions``; keyword options (``max_pages=50``) override its fields.
        on_progress: called with a ``ProgressSnapshot`` whenever the job changes (a plain
            function or a coroutine function).
        allow_private_hosts: hosts the network guard lets through although they are not
            public, for docs served on your own machine (``["127.0.0.1"]``); added to
            ``DOCSPASTA_ALLOW_PRIVATE_HOSTS``.
        reuse: return the newest finished crawl of the same URL and options from the database
            instead of crawling again, when there is one (``Document.reused`` tells).
        database_url: where jobs are kept (default: ``DOCSPASTA_DATABASE_URL`` or the CLI's
            SQLite file).
        settings: the whole configuration, instead of reading ``DOCSPASTA_*`` variables.

    Raises:
        InvalidOptionError: an option is not valid (``field`` names it).
        BlockedURLError: the network guard refuses the URL; nothing was created.
        JobFailedError: the crawl ended without a document (start page unreachable...).
    """
    chosen = crawl_options(options, option_values)
    config = build_settings(
        settings, database_url=database_url, allow_private_hosts=allow_private_hosts
    )
    async with open_store(config) as store:
        return await run_crawl(store, url, chosen, config, on_progress=on_progress, reuse=reuse)


def crawl_sync(
    url: str,
    *,
    options: CrawlOptions | None = None,
    on_progress: ProgressCallback | None = None,
    allow_private_hosts: Iterable[str] = (),
    reuse: bool = False,
    database_url: str | None = None,
    settings: Settings | None = None,
    **option_values: Any,
) -> Document:
    """:func:`crawl` for scripts without an event loop (runs one with ``asyncio.run``)."""
    return _run(
        crawl(
            url,
            options=options,
            on_progress=on_progress,
            allow_private_hosts=allow_private_hosts,
            reuse=reuse,
            database_url=database_url,
            settings=settings,
            **option_values,
        )
    )


async def map(
    url: str,
    *,
    options: CrawlOptions | None = None,
    allow_private_hosts: Iterable[str] = (),
    settings: Settings | None = None,
    **option_values: Any,
) -> SiteMap:
    """The URLs a crawl of ``url`` would take (``taken``, in discovery order) and those it
    would leave out with the reason (``left_out``), fetching pages but converting and storing
    nothing. Options and errors as :func:`crawl`."""
    chosen = crawl_options(options, option_values)
    config = build_settings(settings, allow_private_hosts=allow_private_hosts)
    return await map_site(url, chosen, config)


def map_sync(
    url: str,
    *,
    options: CrawlOptions | None = None,
    allow_private_hosts: Iterable[str] = (),
    settings: Settings | None = None,
    **option_values: Any,
) -> SiteMap:
    """:func:`map` for scripts without an event loop."""
    return _run(
        map(
            url,
            options=options,
            allow_private_hosts=allow_private_hosts,
            settings=settings,
            **option_values,
        )
    )


def _run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    coroutine.close()
    raise RuntimeError("an event loop is running here: use `await docspasta.crawl(...)` instead")


__all__ = [
    "CrawlOptions",
    "Document",
    "Excerpt",
    "Page",
    "ProgressCallback",
    "ProgressSnapshot",
    "SearchHit",
    "SiteMap",
    "crawl",
    "crawl_sync",
    "map",
    "map_sync",
]
