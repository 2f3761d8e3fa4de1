"""Start-crawl discovery: robots.txt, sitemaps and llms.txt, fetched through the guarded fetcher.

This is the I/O half; parsing is pure (``core.robots``, ``core.sitemaps``, ``core.llmstxt``) and
the choice of pages is ``core.policy.LinkPolicy``. Used by the worker's start-crawl and by
``docspasta map``.

Where seeds come from, in this order (each URL once, first source wins):

1. ``llms.txt`` at the scope's directory, then at the site root (``llms-full.txt`` when there is
   no ``llms.txt``): its links, mapped to their HTML pages (``x.html.md`` -> ``x.html``);
2. sitemaps: those robots.txt lists, ``/sitemap.xml`` at the site root and at the scope's
   directory; nested indexes are followed breadth-first, gzip is undone, at most
   ``max_sitemap_files`` files are read.

Every seed passes the crawl's ``LinkPolicy``; those that do not are kept with their reason.
A file that cannot be fetched or parsed is noted and skipped: discovery never fails a crawl.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from docspasta.core.llmstxt import LLMS_FILES, page_url, parse_llms_txt
from docspasta.core.policy import DENY_ALL_ROBOTS, LinkPolicy
from docspasta.core.robots import RobotsPolicy
from docspasta.core.sitemaps import SitemapError, parse_sitemap
from docspasta.core.urls import normalize_url
from docspasta.domain import CrawlOptions
from docspasta.errors import FetchError
from docspasta.fetch import Fetcher, FetchResult
from docspasta.fetch.client import HostHeaders
from docspasta.fetch.politeness import Politeness

log = logging.getLogger(__name__)

#: Sitemap entries looked at per crawl, whatever the files hold (memory bound).
MAX_SITEMAP_ENTRIES = 100_000
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


@dataclass
class Discovery:
    """What discovery found. ``seeds`` are taken (normalised, in order, start page excluded);
    ``left_out`` are ``(url, reason)`` pairs; ``sitemaps`` the sitemap files read;
    ``llms_txt`` the llms.txt used, if any; ``notes`` what went wrong along the way."""

    seeds: list[str] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    llms_txt: str | None = None
    notes: list[str] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set, repr=False)

    def offer(self, url: str, policy: LinkPolicy, source: str) -> None:
        if url in self._seen or url == policy.start_url:
            return
        self._seen.add(url)
        reason = policy.verdict(url)
        if reason is None:
            self.seeds.append(url)
        else:
            self.left_out.append((url, f"{reason} (from {source})"))


def crawl_politeness(
    options: CrawlOptions,
    robots: RobotsPolicy | None,
    *,
    enabled: bool,
    connections: int,
    min_delay: float,
    max_crawl_delay: float,
) -> Politeness | None:
    """The politeness of a crawl's requests, or None when it (or the operator) turned it off."""
    if not (enabled and options.politeness):
        return None
    crawl_delay = robots.crawl_delay if robots is not None else None
    if crawl_delay is not None:
        crawl_delay = min(max(crawl_delay, 0.0), max_crawl_delay)
    return Politeness(max_connections=connections, min_delay=min_delay, crawl_delay=crawl_delay)


def private_headers(start_url: str, options: CrawlOptions) -> HostHeaders | None:
    """The crawl's ``--header`` and ``--cookie`` values, for the start URL's host only."""
    headers = dict(options.headers)
    if options.cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in options.cookies.items())
    return HostHeaders.for_url(start_url, headers)


class Discoverer:
    """Fetches robots.txt, llms.txt and sitemaps for one crawl."""

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        politeness: Politeness | None,
        headers: HostHeaders | None,
        max_sitemap_files: int = 20,
    ) -> None:
        self.fetcher = fetcher
        self.politeness = politeness
        self.headers = headers
        self.max_sitemap_files = max_sitemap_files

    async def _get(self, url: str) -> FetchResult:
        return await self.fetcher.fetch(
            url, politeness=self.politeness, private_headers=self.headers
        )

    async def robots_txt(self, url: str) -> str | None:
        """robots.txt text; None (allow all) when absent (4xx); deny all on 5xx (RFC 9309).

        Raises FetchError when the host cannot be reached at all: the start page cannot be
        either, and that is the reason to report.
        """
        parts = urlsplit(url)
        result = await self._get(f"{parts.scheme}://{parts.netloc}/robots.txt")
        if result.status >= 500:
            log.info("robots.txt answered %s: disallowing all for now", result.status)
            return DENY_ALL_ROBOTS
        if result.status >= 400:
            return None
        return result.body.decode(result.charset or "utf-8", errors="replace")

    async def discover(self, policy: LinkPolicy, options: CrawlOptions, limit: int) -> Discovery:
        """Seeds for a crawl from llms.txt and sitemaps, at most ``limit`` taken ones."""
        found = Discovery()
        if limit <= 0:
            return found
        if options.follow_llms_txt:
            await self._llms_txt(policy, found)
        if options.follow_sitemaps:
            await self._sitemaps(policy, found, limit)
        del found.seeds[limit:]
        return found

    def _places(self, policy: LinkPolicy, name: str) -> list[str]:
        """``name`` in the start URL's directory, then at the site root."""
        parts = urlsplit(policy.start_url)
        root = f"{parts.scheme}://{parts.netloc}"
        directory = parts.path.rsplit("/", 1)[0] + "/"
        places = [f"{root}{directory}{name}", f"{root}/{name}"]
        return list(dict.fromkeys(places))

    async def _text(self, url: str, found: Discovery) -> FetchResult | None:
        try:
            result = await self._get(url)
        except FetchError as exc:
            found.notes.append(f"{url}: {exc.reason}")
            return None
        return None if result.status >= 400 else result

    async def _llms_txt(self, policy: LinkPolicy, found: Discovery) -> None:
        for name in LLMS_FILES:
            for url in self._places(policy, name):
                if policy.respect_robots and not policy.robots.allowed(url):
                    continue
                result = await self._text(url, found)
                if result is None or result.content_type in _HTML_TYPES:
                    continue  # a soft 404 page is not an llms.txt
                text = result.body.decode(result.charset or "utf-8", errors="replace")
                parsed = parse_llms_txt(text, normalize_url(result.final_url) or url)
                found.llms_txt = url
                log.info("llms.txt at %s lists %d links", url, len(parsed.links))
                for link in parsed.links:
                    page = page_url(link)
                    if page is None:
                        found.left_out.append((link, f"not an HTML page (from {name})"))
                    else:
                        found.offer(page, policy, name)
                return

    def _sitemap_candidates(self, policy: LinkPolicy) -> list[str]:
        parts = urlsplit(policy.start_url)
        robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        listed = [
            u for s in policy.robots.sitemaps if (u := normalize_url(s, robots_url)) is not None
        ]
        return list(dict.fromkeys([*listed, *reversed(self._places(policy, "sitemap.xml"))]))

    async def _sitemaps(self, policy: LinkPolicy, found: Discovery, limit: int) -> None:
        queue = deque(self._sitemap_candidates(policy))
        visited: set[str] = set()
        entries = 0
        while queue and len(visited) < self.max_sitemap_files and len(found.seeds) < limit:
            url = queue.popleft()
            if url in visited:
                continue
            visited.add(url)
            result = await self._text(url, found)
            if result is None:
                continue
            try:
                sitemap = parse_sitemap(result.body)
            except SitemapError as exc:
                found.notes.append(f"{url}: {exc}")
                continue
            found.sitemaps.append(url)
            for loc in sitemap.urls:
                target = normalize_url(loc, url)
                if target is None:
                    continue
                if sitemap.is_index:
                    queue.append(target)
                    continue
                entries += 1
                if entries > MAX_SITEMAP_ENTRIES:
                    found.notes.append(f"sitemaps list more than {MAX_SITEMAP_ENTRIES} URLs")
                    return
                found.offer(target, policy, "sitemap")
