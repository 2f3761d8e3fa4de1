"""What the MCP tools and resources do, apart from the protocol: one open store, crawls cached
per site, finished crawls found by id or by start URL.

A crawl is reused when the store holds a finished crawl (completed or partial success) of the
same start URL (normalised) with the same options, unless ``force_refresh``. Two requests for
the same site and options wait for one another, so an agent asking twice at once crawls once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from docspasta.domain import CrawlOptions
from docspasta.errors import JobNotFoundError
from docspasta.library.document import Document
from docspasta.library.jobs import (
    ProgressCallback,
    finished_jobs,
    load_document,
    run_crawl,
)
from docspasta.mapping import SiteMap, map_site
from docspasta.runtime import open_store
from docspasta.settings import Settings
from docspasta.store import JobRecord, Store


class DocsService:
    """The docspasta side of the MCP server. Use as ``async with DocsService.open(settings)``."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[DocsService]:
        async with open_store(settings) as store:
            yield cls(store, settings)

    async def crawl(
        self,
        url: str,
        options: CrawlOptions,
        *,
        force_refresh: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> Document:
        """The document of ``url``: from the store when a finished crawl of the same URL and
        options exists (and not ``force_refresh``), else crawled now (same checks as the CLI)."""
        key = (url.strip(), options.model_dump_json())
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            return await run_crawl(
                self.store,
                url,
                options,
                self.settings,
                on_progress=on_progress,
                reuse=not force_refresh,
            )

    async def document(self, crawl: str) -> Document:
        """A finished crawl's document by its id, or the newest finished crawl of a start URL.

        Raises ``JobNotFoundError`` when there is none, ``JobFailedError`` when that job has no
        document.
        """
        ref = crawl.strip()
        if ref.startswith(("http://", "https://")):
            jobs = await finished_jobs(self.store, ref)
            if not jobs:
                raise JobNotFoundError(ref)
            ref = jobs[0].id
        return await load_document(self.store, ref)

    async def finished(self, url: str | None = None) -> list[JobRecord]:
        """Finished crawls, newest first (of one start URL when given)."""
        return await finished_jobs(self.store, url)

    async def map(self, url: str, options: CrawlOptions) -> SiteMap:
        """Map the site as a crawl with ``options`` would take it (nothing stored)."""
        return await map_site(url, options, self.settings)


__all__ = ["DocsService"]
