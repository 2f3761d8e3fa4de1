"""Mapping a site: the URLs a crawl would take, and why the others are left out.

It runs a crawl's discovery (robots.txt, llms.txt, sitemaps) and follows links breadth-first
with the crawl's own rules (scope, path globs, traps, versions and languages, robots.txt,
depth, page cap) through the guarded, polite fetcher — but converts nothing and stores nothing.
Used by ``docspasta map``, the Python API's ``docspasta.map`` and the MCP server's map tool.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from docspasta.core.links import page_links
from docspasta.core.policy import LinkPolicy
from docspasta.core.urls import normalize_url
from docspasta.discovery import Discoverer, crawl_politeness, private_headers
from docspasta.domain import CrawlOptions
from docspasta.errors import FetchError, InvalidOptionError
from docspasta.fetch import Fetcher, FetchResult
from docspasta.runtime import fetch_config, validate_request
from docspasta.settings import Settings

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


@dataclass
class SiteMap:
    """The outcome of mapping: taken URLs in order, left-out ``(url, reason)`` pairs."""

    taken: list[str] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


class _Mapper:
    def __init__(
        self, fetcher: Fetcher, options: CrawlOptions, settings: Settings, start: str
    ) -> None:
        self.fetcher = fetcher
        self.options = options
        self.settings = settings
        self.start = start
        self.result = SiteMap()
        self.depth: dict[str, int] = {}
        self.page_of_final: dict[str, str] = {}  # final URL -> the taken URL that reached it
        self.frontier: deque[str] = deque()
        self.busy = 0
        self.policy = LinkPolicy.for_crawl(start, options, None, settings.user_agent)

    def _discoverer(self, policy: LinkPolicy | None) -> Discoverer:
        return Discoverer(
            self.fetcher,
            politeness=crawl_politeness(
                self.options,
                policy.robots if policy else None,
                enabled=self.settings.politeness,
                connections=self.settings.host_connections,
                min_delay=self.settings.host_min_delay_seconds,
                max_crawl_delay=self.settings.max_crawl_delay_seconds,
            ),
            headers=private_headers(self.start, self.options),
            max_sitemap_files=self.settings.max_sitemap_files,
        )

    def _take(self, url: str, depth: int, source: str) -> None:
        self.depth[url] = depth
        self.result.taken.append(url)
        self.result.sources[url] = source
        self.frontier.append(url)

    def _consider(self, url: str, depth: int, policy: LinkPolicy, source: str) -> None:
        if url in self.depth or url in self.page_of_final:
            return
        reason = policy.verdict(url)
        if reason is None and depth > self.options.max_depth:
            reason = f"deeper than --max-depth {self.options.max_depth}"
        if reason is None and len(self.result.taken) >= self.options.max_pages:
            reason = f"beyond --max-pages {self.options.max_pages}"
        if reason is None:
            self._take(url, depth, source)
        else:
            self.depth[url] = depth
            self.result.left_out.append((url, reason))

    async def run(self) -> SiteMap:
        robots_txt = None
        if self.options.respect_robots:
            robots_txt = await self._discoverer(None).robots_txt(self.start)
        policy = LinkPolicy.for_crawl(
            self.start, self.options, robots_txt, self.settings.user_agent
        )
        self.policy = policy
        self._take(self.start, 0, "start")
        if self.options.max_depth > 0:
            found = await self._discoverer(policy).discover(
                policy, self.options, self.options.max_pages - 1
            )
            for url in found.seeds:
                self._consider(url, 1, policy, "llms.txt/sitemap")
            for url, reason in found.left_out:
                if url not in self.depth:
                    self.depth[url] = 1
                    self.result.left_out.append((url, reason))
        workers = [asyncio.create_task(self._work()) for _ in range(self.options.concurrency)]
        await asyncio.gather(*workers)
        return self.result

    async def _work(self) -> None:
        """Visit frontier URLs until it is empty and no other worker can add to it."""
        while self.frontier or self.busy:
            if not self.frontier:
                await asyncio.sleep(0.01)
                continue
            url = self.frontier.popleft()
            self.busy += 1
            try:
                await self._visit(url)
            finally:
                self.busy -= 1

    def _drop(self, url: str, reason: str) -> None:
        self.result.taken.remove(url)
        del self.result.sources[url]
        self.result.left_out.append((url, reason))

    async def _visit(self, url: str) -> None:
        discoverer = self._discoverer(self.policy)
        try:
            result: FetchResult = await self.fetcher.fetch(
                url, politeness=discoverer.politeness, private_headers=discoverer.headers
            )
        except FetchError as exc:
            self._drop(url, f"cannot be fetched: {exc.reason}")
            return
        if result.status >= 400:
            self._drop(url, f"HTTP {result.status}")
            return
        if result.content_type not in _HTML_TYPES:
            self._drop(url, f"not an HTML page ({result.content_type or 'no content type'})")
            return
        final = normalize_url(result.final_url) or url
        if final != url and not self.policy.scope.contains(final):
            self._drop(url, f"redirected out of scope to {final}")
            return
        twin = self.page_of_final.get(final)
        if twin is None and final != url and final in self.result.sources:
            twin = final  # redirected to a page taken on its own
        if twin is not None:
            self._drop(url, f"duplicate of {twin}")
            return
        self.page_of_final[final] = url
        depth = self.depth[url] + 1
        for link in page_links(result.body, final, encoding=result.charset):
            self._consider(link, depth, self.policy, url)


async def map_site(url: str, options: CrawlOptions, settings: Settings) -> SiteMap:
    """Map the site at ``url`` as a crawl with ``options`` would take it."""
    await validate_request(url, options, settings)
    start = normalize_url(url)
    if start is None:
        raise InvalidOptionError("url", f"{url!r} is not an http(s) URL")
    async with Fetcher(fetch_config(settings)) as fetcher:
        return await _Mapper(fetcher, options, settings, start).run()
