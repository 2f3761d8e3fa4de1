"""The MCP tools and resources of docspasta, on the official SDK's ``MCPServer``.

Tools: ``crawl_docs`` (the document, or the part of it that fits a token budget),
``map_docs``, ``search_docs``, ``get_page``, ``list_crawls``. Resources: every finished crawl
as ``docspasta://crawls/{crawl_id}`` (the whole document) and its pages as
``docspasta://crawls/{crawl_id}/pages/{index}``. Errors a caller can cause (a refused URL, a
bad option, an unknown crawl) come back as tool errors with one readable line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import CallToolResult, Resource, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from docspasta import __version__
from docspasta.core.tokens import encoding
from docspasta.domain import ProgressSnapshot, TokenEncoding
from docspasta.errors import DocspastaError
from docspasta.library.document import Document
from docspasta.library.jobs import crawl_options
from docspasta.mcp_server.docs import DocsService
from docspasta.store import JobRecord

_T = TypeVar("_T")

DEFAULT_MAX_TOKENS = 25_000
CRAWL_URI = "docspasta://crawls/{crawl_id}"
PAGE_URI = "docspasta://crawls/{crawl_id}/pages/{index}"
MAX_MAP_ENTRIES = 500
#: Tokens kept out of a crawl_docs budget for the result's header lines.
HEADER_TOKENS = 150

INSTRUCTIONS = """\
docspasta turns a documentation website into one markdown document for you to read.
Call crawl_docs with the docs' start URL (its directory is crawled): you get the whole document,
or its contents and the first pages that fit in max_tokens. Then use search_docs to find a
heading or a phrase and get_page to read one page. Crawls are cached per site and options:
asking again is instant (force_refresh=true crawls anew). map_docs previews which URLs a crawl
would take. Finished crawls are also resources (docspasta://crawls/{crawl_id})."""

Url = Annotated[str, Field(description="Start URL of the docs; its directory is crawled.")]
CrawlRef = Annotated[
    str, Field(description="A crawl_id from crawl_docs, or a start URL already crawled.")
]
MaxPages = Annotated[int | None, Field(description="Most pages to take (default 500).", ge=1)]
MaxDepth = Annotated[int | None, Field(description="Most link hops from the start page.", ge=0)]
Paths = Annotated[
    list[str] | None,
    Field(description="Path globs ('*' in a segment, '**' across, trailing '/' = directory)."),
]
Scope = Annotated[
    str | None, Field(description="Also crawl pages under this URL's directory (widens scope).")
]


class CrawlSummary(BaseModel):
    crawl_id: str
    url: str
    title: str
    status: str
    pages: int
    tokens: int
    returned_tokens: int
    pages_returned: int
    complete: bool
    reused: bool
    crawled_at: str | None
    resource: str
    failed_pages: list[str]


class MappedUrl(BaseModel):
    url: str
    reason: str


class MapResult(BaseModel):
    taken: list[str] = Field(description="URLs a crawl would take, in discovery order.")
    left_out: list[MappedUrl] = Field(description="URLs it would leave out, with the reason.")
    taken_count: int
    left_out_count: int


class Hit(BaseModel):
    page: int = Field(description="The page's index, for get_page.")
    title: str
    url: str
    heading: str | None
    snippet: str


class SearchResult(BaseModel):
    crawl_id: str
    hits: list[Hit]


class CrawlEntry(BaseModel):
    crawl_id: str
    url: str
    title: str | None
    status: str
    pages: int
    tokens: int
    completed_at: str | None
    resource: str


class CrawlList(BaseModel):
    crawls: list[CrawlEntry]


async def _tool(call: Awaitable[_T]) -> _T:
    """Await ``call``; an error a caller can cause becomes a ``ToolError`` with its message."""
    try:
        return await call
    except DocspastaError as exc:
        raise ToolError(str(exc)) from exc


def _progress_reporter(ctx: Context) -> Callable[[ProgressSnapshot], Awaitable[None]]:
    """MCP progress notifications from crawl snapshots: pages done of pages discovered, sent
    only when the count of done pages grows (progress must increase)."""
    last = -1

    async def report(snapshot: ProgressSnapshot) -> None:
        nonlocal last
        done = snapshot.pages_done
        if done <= last:
            return
        last = done
        message = (
            f"{done}/{snapshot.pages_discovered} pages, {snapshot.total_tokens:,} tokens "
            f"({snapshot.status.value})"
        )
        await ctx.report_progress(done, max(snapshot.pages_discovered, done, 1), message)

    return report


def _summary(
    doc: Document, returned_tokens: int, pages_returned: int, complete: bool
) -> dict[str, Any]:
    return CrawlSummary(
        crawl_id=doc.job_id,
        url=doc.url,
        title=doc.title,
        status=doc.status.value,
        pages=len(doc.pages),
        tokens=doc.tokens,
        returned_tokens=returned_tokens,
        pages_returned=pages_returned,
        complete=complete,
        reused=doc.reused,
        crawled_at=doc.completed_at.isoformat() if doc.completed_at else None,
        resource=CRAWL_URI.format(crawl_id=doc.job_id),
        failed_pages=[f"{url}: {reason}" for url, reason in doc.failed_pages],
    ).model_dump(mode="json")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "?"


def _header(doc: Document, shown: str) -> str:
    when = _when(doc.completed_at)
    origin = "from the cache (force_refresh=true to crawl again)" if doc.reused else "crawled now"
    failed = f", {len(doc.failed_pages)} failed" if doc.failed_pages else ""
    return (
        f"crawl_id: {doc.job_id} · {len(doc.pages)} pages{failed} · {doc.tokens:,} tokens · "
        f"{doc.status.value} {when}, {origin}\n{shown}\n\n---\n\n"
    )


def _crawl_entry(job: JobRecord) -> CrawlEntry:
    return CrawlEntry(
        crawl_id=job.id,
        url=job.url,
        title=job.title,
        status=job.status.value,
        pages=job.pages_completed,
        tokens=job.total_tokens,
        completed_at=job.completed_at.isoformat() if job.completed_at else None,
        resource=CRAWL_URI.format(crawl_id=job.id),
    )


def _cut(text: str, max_tokens: int, encoding_name: TokenEncoding) -> tuple[str, bool]:
    """``text`` cut to at most ``max_tokens`` tokens; True when it was cut."""
    tokens = encoding(encoding_name).encode_ordinary(text)
    if len(tokens) <= max_tokens:
        return text, False
    return encoding(encoding_name).decode(tokens[:max_tokens]), True


class DocspastaMCP(MCPServer[None]):
    """``MCPServer`` whose resource list is the store's finished crawls."""

    def __init__(self, service: DocsService) -> None:
        super().__init__(
            "docspasta",
            title="docspasta",
            instructions=INSTRUCTIONS,
            version=__version__,
            log_level="WARNING",
        )
        self._service = service

    async def list_resources(self) -> list[Resource]:
        listed = await super().list_resources()
        for job in await self._service.finished():
            listed.append(
                Resource(
                    uri=CRAWL_URI.format(crawl_id=job.id),
                    name=job.title or job.url,
                    description=f"{job.url}: {job.pages_completed} pages, "
                    f"{job.total_tokens:,} tokens, crawled {_when(job.completed_at)}",
                    mime_type="text/markdown",
                )
            )
        return listed


def create_server(service: DocsService) -> DocspastaMCP:
    """The MCP server over an open ``DocsService`` (the caller opens and closes it)."""
    server = DocspastaMCP(service)
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=True)

    @server.tool(annotations=read_only)
    async def crawl_docs(
        url: Url,
        ctx: Context,
        max_tokens: Annotated[
            int, Field(description="Most tokens of markdown to return.", ge=500)
        ] = DEFAULT_MAX_TOKENS,
        max_pages: MaxPages = None,
        max_depth: MaxDepth = None,
        include_paths: Paths = None,
        exclude_paths: Paths = None,
        scope: Scope = None,
        force_refresh: Annotated[
            bool, Field(description="Crawl again even when a cached crawl exists.")
        ] = False,
    ) -> CallToolResult:
        """Crawl a documentation site into one markdown document (table of contents, one
        section per page with its source URL). Returns the whole document when it fits in
        max_tokens, else the contents with each page's size and the first pages that fit; read
        the others with get_page or search_docs. Cached per site and options."""
        values: dict[str, object] = {
            "max_pages": max_pages,
            "max_depth": max_depth,
            "include_paths": include_paths,
            "exclude_paths": exclude_paths,
            "scope": scope,
        }
        options = crawl_options(None, {k: v for k, v in values.items() if v is not None})
        doc = await _tool(
            service.crawl(
                url, options, force_refresh=force_refresh, on_progress=_progress_reporter(ctx)
            )
        )
        part = doc.excerpt(max_tokens - HEADER_TOKENS)
        shown = (
            "The whole document follows."
            if part.complete
            else f"Shown: the contents and pages 1-{part.pages} ({part.tokens:,} tokens); "
            f"get_page(crawl='{doc.job_id}', page=N) for the others."
        )
        return CallToolResult(
            content=[TextContent(type="text", text=_header(doc, shown) + part.text)],
            structured_content=_summary(doc, part.tokens, part.pages, part.complete),
        )

    @server.tool(annotations=read_only)
    async def map_docs(
        url: Url,
        max_pages: MaxPages = None,
        max_depth: MaxDepth = None,
        include_paths: Paths = None,
        exclude_paths: Paths = None,
        scope: Scope = None,
    ) -> MapResult:
        """List the URLs a crawl of this site would take and those it would leave out (with
        the reason), without converting anything. Use it to choose paths or a page cap."""
        values: dict[str, object] = {
            "max_pages": max_pages,
            "max_depth": max_depth,
            "include_paths": include_paths,
            "exclude_paths": exclude_paths,
            "scope": scope,
        }
        options = crawl_options(None, {k: v for k, v in values.items() if v is not None})
        site = await _tool(service.map(url, options))
        return MapResult(
            taken=site.taken[:MAX_MAP_ENTRIES],
            left_out=[MappedUrl(url=u, reason=r) for u, r in site.left_out[:MAX_MAP_ENTRIES]],
            taken_count=len(site.taken),
            left_out_count=len(site.left_out),
        )

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    async def search_docs(
        crawl: CrawlRef,
        query: Annotated[str, Field(description="Words that must all appear (any case).")],
        max_results: Annotated[int, Field(ge=1, le=100)] = 10,
    ) -> SearchResult:
        """Search the pages of a finished crawl by heading or text: sections whose heading
        holds every word come first, then sections whose text does."""
        doc = await _tool(service.document(crawl))
        hits = doc.search(query, limit=max_results)
        return SearchResult(
            crawl_id=doc.job_id,
            hits=[
                Hit(page=h.page, title=h.title, url=h.url, heading=h.heading, snippet=h.snippet)
                for h in hits
            ],
        )

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    async def get_page(
        crawl: CrawlRef,
        page: Annotated[int | str, Field(description="The page's index (from 1) or its URL.")],
        max_tokens: Annotated[int, Field(ge=100)] = DEFAULT_MAX_TOKENS,
    ) -> str:
        """One page of a finished crawl, as markdown, with its title and source URL."""
        doc = await _tool(service.document(crawl))
        found = doc.page(int(page) if isinstance(page, str) and page.isdigit() else page)
        if found is None:
            raise ToolError(f"crawl {doc.job_id} has no page {page!r} (pages 1-{len(doc.pages)})")
        text, cut = _cut(found.markdown, max_tokens, doc.options.token_encoding)
        note = f"\n\n[cut at {max_tokens:,} of {found.tokens:,} tokens]" if cut else ""
        return (
            f"page {found.index} of {len(doc.pages)}: {found.title}\nSource: {found.url}\n\n"
            f"{text}{note}"
        )

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    async def list_crawls(
        url: Annotated[str | None, Field(description="Only crawls of this start URL.")] = None,
    ) -> CrawlList:
        """Finished crawls in the store, newest first, with their size."""
        jobs = await service.finished(url)
        return CrawlList(crawls=[_crawl_entry(job) for job in jobs])

    @server.resource(CRAWL_URI, name="crawl", mime_type="text/markdown")
    async def crawl_resource(crawl_id: str) -> str:
        """A finished crawl's whole document."""
        try:
            return (await service.document(crawl_id)).markdown
        except DocspastaError as exc:
            raise ResourceError(str(exc)) from exc

    @server.resource(PAGE_URI, name="crawl page", mime_type="text/markdown")
    async def page_resource(crawl_id: str, index: str) -> str:
        """One page of a finished crawl (index from 1)."""
        try:
            doc = await service.document(crawl_id)
        except DocspastaError as exc:
            raise ResourceError(str(exc)) from exc
        found = doc.page(int(index)) if index.isdigit() else None
        if found is None:
            raise ResourceError(f"crawl {crawl_id} has no page {index}")
        return found.markdown

    return server
