"""The three idempotent task handlers, the lease sweeper, and the runtime that wires them.

start-crawl: robots.txt, then ``pending -> running`` with the start page (once).
process-page: claim (lease) -> guarded fetch -> main content -> markdown -> in-scope links, all
written in one transaction with the job's counters and the new pages (contract 6).
finalize: under the finalize lease, compute the document order from the stored link graph,
assemble, and end the job (contract 3); finalising twice gives identical bytes (contract 7).

Every handler re-reads the database first: a duplicate or stale task does nothing (contract 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from docspasta.core.assemble import SectionPage, encode_order_key, iter_document, order_keys
from docspasta.core.page import analyze_page
from docspasta.core.robots import RobotsPolicy
from docspasta.core.urls import Scope, normalize_url, url_hash
from docspasta.domain import JobStatus, PageStatus, Task, TaskKind
from docspasta.errors import FetchError, HTTPStatusError
from docspasta.fetch import Fetcher, FetchResult
from docspasta.queue import Queue
from docspasta.settings import Settings
from docspasta.store import NewPage, PageClaim, PageOutcome, PageRecord, PageWrite, Store

log = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: Links whose path ends like this are not documentation pages; they are never fetched.
NON_PAGE_EXTENSIONS = frozenset(
    {
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".svg",
        ".webp",
        ".ico",
        ".bmp",
        ".pdf",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".tar",
        ".7z",
        ".whl",
        ".egg",
        ".exe",
        ".dmg",
        ".deb",
        ".rpm",
        ".css",
        ".js",
        ".mjs",
        ".map",
        ".json",
        ".xml",
        ".txt",
        ".csv",
        ".woff",
        ".woff2",
        ".ttf",
        ".eot",
        ".mp3",
        ".mp4",
        ".webm",
        ".mov",
        ".avi",
        ".epub",
        ".mobi",
        ".ps",
        ".rss",
        ".atom",
        ".py",
        ".ipynb",
        ".tex",
    }
)
DENY_ALL_ROBOTS = "User-agent: *\nDisallow: /\n"
#: Sorts after every key reachable from the start page (components are 6-digit positions).
UNREACHABLE_KEY_PREFIX = "9" * 7


def is_page_link(url: str) -> bool:
    """False for links that name a file that is not a page (images, archives, scripts...)."""
    return PurePosixPath(urlsplit(url).path).suffix.lower() not in NON_PAGE_EXTENSIONS


@dataclass(frozen=True)
class LinkPolicy:
    """Which discovered links become pages of a job."""

    scope: Scope
    robots: RobotsPolicy
    respect_robots: bool

    def accepts(self, url: str) -> bool:
        if not self.scope.contains(url) or not is_page_link(url):
            return False
        return not self.respect_robots or self.robots.allowed(url)


class Worker:
    """Runs tasks for any job; holds no state a crash could lose."""

    def __init__(self, store: Store, fetcher: Fetcher, queue: Queue, settings: Settings) -> None:
        self.store = store
        self.fetcher = fetcher
        self.queue = queue
        self.settings = settings
        self.worker_id = f"worker-{uuid.uuid4().hex[:12]}"

    async def handle(self, task: Task) -> None:
        if task.kind is TaskKind.START_CRAWL:
            await self.start_crawl(task.job_id)
        elif task.kind is TaskKind.PROCESS_PAGE:
            if task.page_id is None:
                log.warning("process-page task without a page id for job %s", task.job_id)
                return
            await self.process_page(task.job_id, task.page_id)
        else:
            await self.finalize(task.job_id)

    def _policy(self, job_url: str, robots_txt: str | None, respect_robots: bool) -> LinkPolicy:
        return LinkPolicy(
            scope=Scope.for_start_url(job_url),
            robots=RobotsPolicy.from_text(robots_txt, self.settings.user_agent),
            respect_robots=respect_robots,
        )

    # -- start-crawl --------------------------------------------------------------------------

    async def start_crawl(self, job_id: str) -> None:
        job = await self.store.get_job(job_id)
        if job is None or job.status is not JobStatus.PENDING:
            return
        start = normalize_url(job.url)
        if start is None:
            await self.store.fail_job(job_id, f"not a crawlable URL: {job.url}")
            return
        robots_txt = None
        if job.options.respect_robots:
            try:
                robots_txt = await self._robots_txt(start)
            except FetchError as exc:
                await self.store.fail_job(job_id, f"cannot reach {exc.url}: {exc.reason}")
                return
        seed = NewPage(url=start, url_hash=url_hash(start), depth=0, order_key="")
        tasks = await self.store.start_job(job_id, robots_txt, [seed])
        log.info("job %s started at %s", job_id, start)
        await self.queue.publish(tasks)

    async def _robots_txt(self, url: str) -> str | None:
        """robots.txt text; None (allow all) when absent (4xx); deny all on 5xx (RFC 9309).

        Raises FetchError when the host cannot be reached at all: the start page cannot be
        either, and that is the reason to report.
        """
        parts = urlsplit(url)
        robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        result = await self.fetcher.fetch(robots_url)
        if result.status >= 500:
            log.info("robots.txt answered %s: disallowing all for now", result.status)
            return DENY_ALL_ROBOTS
        if result.status >= 400:
            return None
        return result.body.decode(result.charset or "utf-8", errors="replace")

    # -- process-page -------------------------------------------------------------------------

    async def process_page(self, job_id: str, page_id: int) -> None:
        claim = await self.store.claim_page(
            job_id, page_id, self.worker_id, self.settings.page_lease_seconds
        )
        if claim is None:
            return
        policy = self._policy(claim.job_url, claim.robots_txt, claim.options.respect_robots)
        if claim.options.respect_robots and not policy.robots.allowed(claim.url):
            reason = "disallowed by robots.txt"
            if claim.robots_txt == DENY_ALL_ROBOTS:
                reason = "robots.txt answered a server error: crawling is disallowed for now"
            await self._end(claim, PageStatus.SKIPPED, reason)
            return
        try:
            result = await self.fetcher.fetch(claim.url)
            if result.status >= 400:
                raise HTTPStatusError(claim.url, result.status)
        except FetchError as exc:
            await self._fetch_failed(claim, exc)
            return
        await self._convert(claim, result, policy)

    async def _fetch_failed(self, claim: PageClaim, exc: FetchError) -> None:
        status = exc.status if isinstance(exc, HTTPStatusError) else None
        if exc.retryable and claim.attempts < self.settings.max_page_attempts:
            delay = min(30.0, 0.5 * 2**claim.attempts) * random.uniform(0.5, 1.0)
            log.info("job %s: retrying %s in %.1fs (%s)", claim.job_id, claim.url, delay, exc)
            await self.queue.publish(await self.store.retry_page(claim, exc.reason), delay=delay)
            return
        await self._end(claim, PageStatus.FAILED, exc.reason, status)

    async def _convert(self, claim: PageClaim, result: FetchResult, policy: LinkPolicy) -> None:
        if result.content_type not in HTML_TYPES:
            reason = f"not an HTML page ({result.content_type or 'no content type'})"
            await self._end(claim, PageStatus.SKIPPED, reason, result.status)
            return
        final_url = normalize_url(result.final_url) or claim.url
        if final_url != claim.url and not policy.scope.contains(final_url):
            reason = f"redirected out of scope to {final_url}"
            await self._end(claim, PageStatus.SKIPPED, reason, result.status)
            return
        analysis = analyze_page(result.body, final_url, encoding=result.charset)
        links = tuple(link for link in analysis.links if policy.accepts(link))
        outcome = PageOutcome(
            final_url=final_url,
            final_url_hash=url_hash(final_url),
            http_status=result.status,
            title=analysis.title,
            markdown=analysis.markdown,
            links=links,
            word_count=analysis.word_count,
            token_count=analysis.token_count,
        )
        children = self._children(claim.id, claim.depth, claim.order_key, links, claim)
        write = await self.store.complete_page(claim, outcome, children)
        log.debug("job %s: page %s done (%d links)", claim.job_id, claim.url, len(links))
        await self._publish(claim.job_id, write, claim)

    def _children(
        self,
        parent_id: int,
        parent_depth: int,
        parent_key: str,
        links: Sequence[str],
        claim: PageClaim,
    ) -> list[NewPage]:
        if parent_depth + 1 > claim.options.max_depth:
            return []
        return [
            NewPage(
                url=link,
                url_hash=url_hash(link),
                depth=parent_depth + 1,
                order_key=parent_key + encode_order_key((position,)),
                discovered_from=parent_id,
            )
            for position, link in enumerate(links)
        ]

    async def _publish(self, job_id: str, write: PageWrite, claim: PageClaim) -> None:
        """Publish a write's tasks, and follow again the links of pages now at a smaller depth."""
        await self.queue.publish(write.tasks)
        pending: list[PageRecord] = list(write.reexpand)
        while pending:
            page = pending.pop()
            children = self._children(page.id, page.depth, page.order_key, page.links, claim)
            more = await self.store.add_pages(job_id, children)
            await self.queue.publish(more.tasks)
            pending.extend(more.reexpand)

    async def _end(
        self, claim: PageClaim, status: PageStatus, reason: str, http_status: int | None = None
    ) -> None:
        log.info("job %s: %s %s (%s)", claim.job_id, status.value, claim.url, reason)
        write = await self.store.end_page(claim, status, reason, http_status)
        await self.queue.publish(write.tasks)

    # -- finalize -----------------------------------------------------------------------------

    async def finalize(self, job_id: str) -> None:
        job = await self.store.claim_finalize(
            job_id, self.worker_id, self.settings.finalize_lease_seconds
        )
        if job is None:
            return
        pages = await self.store.pages(job_id)
        keys = document_order(pages)
        await self.store.set_order_keys(job_id, keys)
        completed = sorted(
            (p for p in pages if p.status is PageStatus.COMPLETED), key=lambda p: (keys[p.id], p.id)
        )
        markdown: str | None = None
        message: str | None = None
        if not completed:
            status, message = JobStatus.FAILED, "no page could be converted"
        else:
            title = job.title or urlsplit(job.url).netloc
            toc = [p.title or p.url for p in completed]
            sections = [section async for section in self._sections(job_id)]
            markdown = "".join(iter_document(title, job.url, sections, toc=toc))
            failed = job.pages_failed
            status = JobStatus.PARTIAL_SUCCESS if failed else JobStatus.COMPLETED
            message = f"{failed} page(s) failed" if failed else None
        if await self.store.finish_job(job_id, self.worker_id, status, message, markdown):
            log.info("job %s finalized: %s", job_id, status.value)

    async def _sections(self, job_id: str) -> AsyncIterator[SectionPage]:
        current: tuple[int, str, str] | None = None
        parts: list[str] = []
        async for page_id, url, title, chunk in self.store.iter_page_content(job_id):
            if current is not None and current[0] != page_id:
                yield SectionPage(url=current[1], title=current[2], markdown="".join(parts))
                parts = []
            current = (page_id, url, title or url)
            parts.append(chunk)
        if current is not None:
            yield SectionPage(url=current[1], title=current[2], markdown="".join(parts))

    # -- sweeper ------------------------------------------------------------------------------

    async def sweep(self, *, older_than: float, job_id: str | None = None) -> int:
        """Re-publish work whose message may be lost; returns how many tasks were published."""
        tasks = await self.store.recoverable_tasks(older_than=older_than, job_id=job_id)
        await self.queue.publish(tasks)
        return len(tasks)

    async def sweep_forever(self) -> None:
        interval = self.settings.sweep_interval_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                count = await self.sweep(older_than=interval * 2)
            except Exception:
                log.exception("sweep failed")
                continue
            if count:
                log.info("sweeper re-published %d task(s)", count)


def document_order(pages: Sequence[PageRecord]) -> dict[int, str]:
    """Final order keys: the smallest (parent key + link position) path from the start page.

    A pure function of the stored pages and their links (contract 7); pages not reachable from
    the start page through stored links sort after the others, by their discovery key.
    """
    by_hash = {p.url_hash: p for p in pages}
    root = next((p for p in pages if p.order_key == "" and p.depth == 0), None)
    keys: dict[int, str] = {}
    if root is not None:
        edges = {p.url_hash: [url_hash(link) for link in p.links] for p in pages}
        for node, key in order_keys(root.url_hash, edges).items():
            page = by_hash.get(node)
            if page is not None:
                keys[page.id] = encode_order_key(key)
    for page in pages:
        # Digits only: text order must not depend on a database collation.
        keys.setdefault(page.id, UNREACHABLE_KEY_PREFIX + page.order_key)
    return keys


@contextlib.asynccontextmanager
async def running_worker(
    store: Store, fetcher: Fetcher, queue: Queue, settings: Settings
) -> AsyncIterator[Worker]:
    """Consume ``queue`` with a new worker and its sweeper; on exit stop and release leases."""
    worker = Worker(store, fetcher, queue, settings)
    await queue.start(worker.handle)
    sweeper = asyncio.create_task(worker.sweep_forever(), name="docspasta-sweeper")
    try:
        yield worker
    finally:
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)
        await queue.stop()
        await asyncio.shield(store.release_leases(worker.worker_id))
