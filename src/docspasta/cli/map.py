"""``docspasta map URL``: the URLs a crawl would take, and why the others are left out.

It runs a crawl's discovery (robots.txt, llms.txt, sitemaps) and follows links breadth-first
with the crawl's own rules (scope, path globs, traps, versions and languages, robots.txt,
depth, page cap) through the guarded, polite fetcher — but converts nothing and stores nothing.
stdout gets one line per URL: ``take URL`` in discovery order, then ``skip URL  reason``.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from dataclasses import dataclass, field
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from docspasta.cli.discoveryflags import (
    CookieFlag,
    ExcludePathFlag,
    HeaderFlag,
    IncludePathFlag,
    IncludeVariantsFlag,
    NoLlmsTxtFlag,
    NoPolitenessFlag,
    NoSitemapsFlag,
    ScopeFlag,
    discovery_options,
)
from docspasta.core.links import page_links
from docspasta.core.policy import LinkPolicy
from docspasta.core.urls import normalize_url
from docspasta.discovery import Discoverer, crawl_politeness, private_headers
from docspasta.domain import DEFAULT_MAX_PAGES, CrawlOptions
from docspasta.errors import DocspastaError, FetchError, InvalidOptionError
from docspasta.fetch import Fetcher, FetchResult
from docspasta.runtime import fetch_config, validate_request
from docspasta.settings import Settings

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
stderr = Console(stderr=True)


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


def render(site: SiteMap) -> str:
    """``take URL`` lines in discovery order, then ``skip URL  reason`` lines."""
    lines = [f"take  {url}" for url in site.taken]
    lines += [f"skip  {url}  {reason}" for url, reason in site.left_out]
    return "\n".join(lines) + "\n"


def map_command(
    url: Annotated[str, typer.Argument(help="Start URL of the docs.")],
    max_pages: Annotated[int, typer.Option(help="Most pages to take.")] = DEFAULT_MAX_PAGES,
    max_depth: Annotated[int, typer.Option(help="Most link hops from the start page.")] = 20,
    concurrency: Annotated[int, typer.Option(help="Pages fetched at the same time.")] = 8,
    no_robots: Annotated[bool, typer.Option("--no-robots", help="Ignore robots.txt.")] = False,
    no_sitemaps: NoSitemapsFlag = False,
    no_llms_txt: NoLlmsTxtFlag = False,
    scope: ScopeFlag = None,
    include_path: IncludePathFlag = None,
    exclude_path: ExcludePathFlag = None,
    include_variants: IncludeVariantsFlag = False,
    no_politeness: NoPolitenessFlag = False,
    header: HeaderFlag = None,
    cookie: CookieFlag = None,
    allow_private_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-private-host",
            help="Let the network guard reach this host although it is not public "
            "(repeatable; also DOCSPASTA_ALLOW_PRIVATE_HOSTS=a,b).",
        ),
    ] = None,
) -> None:
    """Print the URLs a crawl would take, and each left-out URL with its reason."""
    try:
        options = CrawlOptions(
            max_pages=max_pages,
            max_depth=max_depth,
            concurrency=concurrency,
            respect_robots=not no_robots,
            **discovery_options(
                no_sitemaps=no_sitemaps,
                no_llms_txt=no_llms_txt,
                scope=scope,
                include_path=include_path,
                exclude_path=exclude_path,
                include_variants=include_variants,
                no_politeness=no_politeness,
                header=header,
                cookie=cookie,
            ),
        )
        settings = Settings()
        hosts = {h.strip().lower() for h in allow_private_host or () if h.strip()}
        settings = settings.model_copy(
            update={"allow_private_hosts": settings.allow_private_hosts | hosts}
        )
        site = asyncio.run(map_site(url, options, settings))
    except ValidationError as exc:
        error = exc.errors()[0]
        field_name = "--" + "-".join(str(p) for p in error["loc"]).replace("_", "-")
        stderr.print(f"[red]error:[/] {field_name}: {error['msg']}", highlight=False)
        raise typer.Exit(2) from None
    except DocspastaError as exc:
        stderr.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        code = 2 if isinstance(exc, InvalidOptionError) else 1
        raise typer.Exit(code) from None
    sys.stdout.write(render(site))
    sys.stdout.flush()
    stderr.print(
        f"{len(site.taken)} page(s) would be taken, {len(site.left_out)} URL(s) left out",
        highlight=False,
    )
