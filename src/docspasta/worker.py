"""The three idempotent task handlers, the lease sweeper, and the runtime that wires them.

start-crawl: robots.txt, llms.txt and sitemaps (``discovery``), then ``pending -> running`` with
the start page and the seeds (once).
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
from datetime import UTC, datetime

from docspasta.analysis import Analyzer
from docspasta.core.assemble import encode_order_key
from docspasta.core.boilerplate import block_keys, unpack_keys
from docspasta.core.nav import reading_order
from docspasta.core.policy import DENY_ALL_ROBOTS, LinkPolicy, is_page_link
from docspasta.core.renderings import MarkdownDocument, document_title
from docspasta.core.urls import normalize_url, url_hash
from docspasta.discovery import Discoverer, crawl_politeness, private_headers
from docspasta.domain import CrawlOptions, JobStatus, PageStatus, Task, TaskKind
from docspasta.errors import FetchError, HTTPStatusError
from docspasta.fetch import Fetcher, FetchResult, Validators
from docspasta.fetch.client import HostHeaders
from docspasta.fetch.politeness import Politeness
from docspasta.metrics import Metrics
from docspasta.queue import Queue
from docspasta.settings import Settings
from docspasta.store import (
    JobRecord,
    NewPage,
    PageClaim,
    PageOutcome,
    PageRecord,
    PageWrite,
    ReusablePage,
    Store,
)

log = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: Sorts after every key reachable from the start page (components are 6-digit positions).
UNREACHABLE_KEY_PREFIX = "9" * 7
#: Jobs whose already-stored links a worker remembers (see ``Worker._seen``).
SEEN_JOBS = 32
#: Seeds from llms.txt and sitemaps get keys under this first component, after the start
#: page's links; their place in the document is still decided by the link graph (finalize).
SEED_KEY_COMPONENT = 999_999
#: Characters per stored piece of a finished document (document_chunks): what finalize holds
#: while writing it, and what a reader of the document holds at a time.
DOCUMENT_CHUNK_CHARS = 1 << 18
#: Parsed link policies kept per worker (one per recent job), so robots.txt is parsed once.
_POLICY_CACHE_SIZE = 64

__all__ = ["DENY_ALL_ROBOTS", "LinkPolicy", "Worker", "is_page_link", "running_worker"]


class Worker:
    """Runs tasks for any job; holds no state a crash could lose."""

    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        queue: Queue,
        settings: Settings,
        metrics: Metrics | None = None,
        analyzer: Analyzer | None = None,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.queue = queue
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.analyzer = analyzer or Analyzer(processes=0)
        self.worker_id = f"worker-{uuid.uuid4().hex[:12]}"
        self._policies: dict[str, tuple[str | None, LinkPolicy]] = {}
        #: Per job, the earlier crawl its pages are revalidated against (a pure function of
        #: the database: ``Store.previous_crawl``).
        self._previous: dict[str, JobRecord | None] = {}
        #: Per job, links this worker already stored, with the smallest depth it stored them
        #: at. Only a filter to spare the database the same nav links on every page: the
        #: database stays the truth (its inserts ignore duplicates, its depths only shrink).
        self._seen: dict[str, dict[str, int]] = {}
        #: Page tasks running now (in any job).
        self._pages_running = 0
        #: Set each time this worker ends a job (a waiter in this process clears it).
        self.job_ended = asyncio.Event()

    async def handle(self, task: Task) -> None:
        if task.kind is TaskKind.START_CRAWL:
            await self.start_crawl(task.job_id)
        elif task.kind is TaskKind.PROCESS_PAGE:
            if task.page_id is None:
                log.warning("process-page task without a page id for job %s", task.job_id)
                return
            self._pages_running += 1
            try:
                await self.process_page(task.job_id, task.page_id)
            finally:
                self._pages_running -= 1
        else:
            await self.finalize(task.job_id)

    def _policy(
        self, job_id: str, job_url: str, options: CrawlOptions, robots_txt: str | None
    ) -> LinkPolicy:
        cached = self._policies.get(job_id)
        if cached is not None and cached[0] == robots_txt:
            return cached[1]
        policy = LinkPolicy.for_crawl(job_url, options, robots_txt, self.settings.user_agent)
        if len(self._policies) >= _POLICY_CACHE_SIZE:
            self._policies.pop(next(iter(self._policies)))
        self._policies[job_id] = (robots_txt, policy)
        return policy

    def _politeness(self, options: CrawlOptions, policy: LinkPolicy | None) -> Politeness | None:
        settings = self.settings
        return crawl_politeness(
            options,
            policy.robots if policy is not None else None,
            enabled=settings.politeness,
            connections=settings.host_connections,
            min_delay=settings.host_min_delay_seconds,
            max_crawl_delay=settings.max_crawl_delay_seconds,
        )

    def _discoverer(
        self, options: CrawlOptions, policy: LinkPolicy | None, headers: HostHeaders | None
    ) -> Discoverer:
        return Discoverer(
            self.fetcher,
            politeness=self._politeness(options, policy),
            headers=headers,
            max_sitemap_files=self.settings.max_sitemap_files,
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
        options = job.options
        headers = private_headers(start, options)
        robots_txt = None
        if options.respect_robots:
            try:
                robots_txt = await self._discoverer(options, None, headers).robots_txt(start)
            except FetchError as exc:
                await self.store.fail_job(job_id, f"cannot reach {exc.url}: {exc.reason}")
                return
            if robots_txt == DENY_ALL_ROBOTS:
                await self._wait_for_robots(job)
                return
        seeds = [NewPage(url=start, url_hash=url_hash(start), depth=0, order_key="")]
        if options.max_depth > 0 and options.max_pages > 1:
            policy = self._policy(job_id, start, options, robots_txt)
            found = await self._discoverer(options, policy, headers).discover(
                policy, options, options.max_pages - 1
            )
            for note in found.notes:
                log.info("job %s: discovery: %s", job_id, note)
            seeds += [
                NewPage(
                    url=url,
                    url_hash=url_hash(url),
                    depth=1,
                    order_key=encode_order_key((SEED_KEY_COMPONENT, position)),
                )
                for position, url in enumerate(found.seeds)
            ]
            log.info(
                "job %s: %d seed(s) from %s and %d sitemap file(s)",
                job_id,
                len(found.seeds),
                found.llms_txt or "no llms.txt",
                len(found.sitemaps),
            )
        tasks = await self.store.start_job(job_id, robots_txt, seeds)
        log.info("job %s started at %s", job_id, start)
        await self.queue.publish(tasks)

    async def _wait_for_robots(self, job: JobRecord) -> None:
        """robots.txt answered a server error: RFC 9309 disallows everything "for a while".
        The job stays pending and start-crawl runs again after ``robots_retry_seconds``; once
        ``robots_max_wait_seconds`` have passed since the job was created, it fails."""
        waited = (datetime.now(UTC) - job.created_at).total_seconds()
        limit = self.settings.robots_max_wait_seconds
        if waited >= limit:
            reason = f"robots.txt answered a server error for {waited:.0f}s: crawling is "
            await self.store.fail_job(job.id, reason + "disallowed (RFC 9309)")
            return
        delay = min(self.settings.robots_retry_seconds, limit - waited)
        message = (
            "robots.txt answered a server error: nothing is crawled until it answers "
            f"(next try in {delay:.1f}s)"
        )
        log.info("job %s: %s", job.id, message)
        await self.queue.publish(
            await self.store.wait_for_robots(job.id, message, delay), delay=delay
        )

    # -- process-page -------------------------------------------------------------------------

    async def process_page(self, job_id: str, page_id: int) -> None:
        claim = await self.store.claim_page(
            job_id, page_id, self.worker_id, self.settings.page_lease_seconds
        )
        if claim is None:
            return
        options = claim.options
        policy = self._policy(job_id, claim.job_url, options, claim.robots_txt)
        if options.respect_robots and not policy.robots.allowed(claim.url):
            reason = "disallowed by robots.txt"
            if claim.robots_txt == DENY_ALL_ROBOTS:
                reason = "robots.txt answered a server error: crawling is disallowed for now"
            await self._end(claim, PageStatus.SKIPPED, reason)
            return
        try:
            result, previous = await self._fetch_page(claim, policy)
            if result.status >= 400 or (result.status == 304 and previous is None):
                raise HTTPStatusError(claim.url, result.status, result.retry_after)
        except FetchError as exc:
            await self._fetch_failed(claim, exc)
            return
        if previous is not None and result.status == 304:
            await self._reuse(claim, result, previous)
            return
        await self._convert(claim, result, policy)

    async def _get(
        self, claim: PageClaim, policy: LinkPolicy, revalidate: ReusablePage | None
    ) -> FetchResult:
        options = claim.options
        return await self.fetcher.fetch(
            claim.url,
            politeness=self._politeness(options, policy),
            private_headers=private_headers(policy.start_url, options),
            revalidate=(
                Validators(revalidate.etag, revalidate.last_modified) if revalidate else None
            ),
        )

    async def _fetch_page(
        self, claim: PageClaim, policy: LinkPolicy
    ) -> tuple[FetchResult, ReusablePage | None]:
        """The page's response, and the earlier crawl's page it was revalidated against: the
        request is conditional when the user's previous crawl stored this page with a
        validator (a 304 then means "reuse it"), plain otherwise."""
        previous = await self._reusable(claim, policy)
        result = await self._get(claim, policy, previous)
        if result.status == 304 and previous is not None:
            landed = normalize_url(result.final_url) or claim.url
            if landed not in (claim.url, previous.final_url):
                # The URL now leads elsewhere than last time: take that page whole.
                previous = None
                result = await self._get(claim, policy, None)
        return result, previous

    async def _reusable(self, claim: PageClaim, policy: LinkPolicy) -> ReusablePage | None:
        if claim.options.force_refresh:
            return None
        if claim.job_id not in self._previous:
            if len(self._previous) >= _POLICY_CACHE_SIZE:
                self._previous.pop(next(iter(self._previous)))
            self._previous[claim.job_id] = await self.store.previous_crawl(claim.job_id)
        previous = self._previous[claim.job_id]
        if previous is None:
            return None
        page = await self.store.reusable_page(previous.user_id, previous.id, url_hash(claim.url))
        if page is None or not all(policy.accepts(link) for link in page.links):
            return None
        return page

    async def _reuse(self, claim: PageClaim, result: FetchResult, page: ReusablePage) -> None:
        """An unchanged page (304 Not Modified): the earlier crawl's conversion, stored again
        as this job's page, byte for byte."""
        outcome = PageOutcome(
            final_url=page.final_url,
            final_url_hash=url_hash(page.final_url),
            http_status=result.status,
            title=page.title,
            markdown=page.markdown,
            links=page.links,
            word_count=page.word_count,
            token_count=page.token_count,
            generator=page.generator,
            quality=page.quality,
            fidelity=page.fidelity,
            nav=page.nav,
            block_keys=page.block_keys,
            etag=result.headers.get("etag") or page.etag,
            last_modified=result.headers.get("last-modified") or page.last_modified,
        )
        log.debug("job %s: %s unchanged since job %s", claim.job_id, claim.url, page.job_id)
        await self._store(claim, outcome)

    async def _fetch_failed(self, claim: PageClaim, exc: FetchError) -> None:
        status = exc.status if isinstance(exc, HTTPStatusError) else None
        retry_after = exc.retry_after if isinstance(exc, HTTPStatusError) else None
        reason = exc.reason
        if retry_after is not None and retry_after > self.settings.max_retry_after_seconds:
            reason = f"{exc.reason}, asked to retry after {retry_after:.0f}s"
        elif exc.retryable and claim.attempts < self.settings.max_page_attempts:
            delay = retry_delay(claim.attempts, retry_after)
            log.info("job %s: retrying %s in %.1fs (%s)", claim.job_id, claim.url, delay, exc)
            retry = await self.store.retry_page(claim, exc.reason, delay)
            await self.queue.publish(retry, delay=delay)
            return
        await self._end(claim, PageStatus.FAILED, reason, status)

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
        analysis = await self.analyzer.analyze(
            result.body, final_url, encoding=result.charset, options=claim.options
        )
        if analysis.rejection is not None:
            await self._end(claim, PageStatus.SKIPPED, analysis.rejection, result.status)
            return
        canonical = analysis.canonical
        if canonical is not None and _honours_canonical(claim, canonical, policy):
            final_url = canonical  # deduplicated by it, as a redirect target is
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
            generator=analysis.generator,
            quality=analysis.quality,
            fidelity=analysis.fidelity.as_dict(),
            nav=analysis.nav.record(links),
            block_keys=analysis.block_keys,
            etag=result.headers.get("etag"),
            last_modified=result.headers.get("last-modified"),
        )
        await self._store(claim, outcome)

    async def _store(self, claim: PageClaim, outcome: PageOutcome) -> None:
        links = outcome.links
        children = self._unseen(
            claim.job_id, self._children(claim.id, claim.depth, claim.order_key, links, claim)
        )
        write = await self.store.complete_page(claim, outcome, children)
        if write.written:
            self.metrics.pages.labels("completed").inc()
            self._remember(claim.job_id, children)
        log.debug("job %s: page %s done (%d links)", claim.job_id, claim.url, len(links))
        await self._publish(claim.job_id, write, claim)

    def _unseen(self, job_id: str, children: list[NewPage]) -> list[NewPage]:
        seen = self._seen.get(job_id)
        if not seen:
            return children
        return [c for c in children if seen.get(c.url_hash, c.depth + 1) > c.depth]

    def _remember(self, job_id: str, children: list[NewPage]) -> None:
        seen = self._seen.get(job_id)
        if seen is None:
            if len(self._seen) >= SEEN_JOBS:
                self._seen.pop(next(iter(self._seen)))
            seen = self._seen[job_id] = {}
        for child in children:
            if seen.get(child.url_hash, child.depth + 1) > child.depth:
                seen[child.url_hash] = child.depth

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
        if write.written:
            self.metrics.pages.labels(status.value).inc()
        await self.queue.publish(write.tasks)

    # -- finalize -----------------------------------------------------------------------------

    async def finalize(self, job_id: str) -> None:
        job = await self.store.claim_finalize(
            job_id, self.worker_id, self.settings.finalize_lease_seconds
        )
        if job is None:
            return
        if not self._pages_running:  # no page to analyse meanwhile: free the workers' memory
            await self.analyzer.rest()
        pages = await self.store.pages(job_id)
        keys = document_order(pages)
        converted = any(p.status is PageStatus.COMPLETED for p in pages)
        del pages  # the link graph is not needed while the document is written
        await self.store.set_order_keys(job_id, keys)
        document: tuple[str, int] | None = None
        message: str | None = None
        if not converted:
            status, message = JobStatus.FAILED, "no page could be converted"
        else:
            document = await self._document(job)
            if document is None:
                log.warning("job %s: finalize lease lost while writing the document", job_id)
                return
            failed = job.pages_failed
            status = JobStatus.PARTIAL_SUCCESS if failed else JobStatus.COMPLETED
            message = f"{failed} page(s) failed" if failed else None
        if await self.store.finish_job(job_id, self.worker_id, status, message, document):
            self.job_ended.set()
            self.metrics.jobs.labels(status.value).inc()
            log.info(
                "job %s finalized: %s (state_version %s)",
                job_id,
                status.value,
                await self.store.state_version(job_id),
            )

    async def _document(self, job: JobRecord) -> tuple[str, int] | None:
        """Write the markdown rendering (cross-page boilerplate removed), as the doors render
        it, to the store in chunks of about :data:`DOCUMENT_CHUNK_CHARS`: two streamed passes
        over the pages, so memory holds one page and one chunk, whatever the crawl's size. The
        first reads each page's title and block keys only (the analysis computed them).
        Returns (generation, size in UTF-8 bytes), or None if the finalize lease was lost."""
        document = MarkdownDocument(document_title(job.title, job.url), job.url)
        async for page_id, title, packed in self.store.iter_page_keys(job.id):
            if packed is None:  # a page stored before pages kept their keys
                keys = block_keys(await self.store.page_markdown(page_id))
            else:
                keys = unpack_keys(packed)
            document.scan_keys(title, keys)
        generation = uuid.uuid4().hex
        size = 0
        chunks = 0
        pending = [document.header()]
        pending_chars = len(pending[0])

        async def flush() -> bool:
            nonlocal size, chunks, pending, pending_chars
            content = "".join(pending)
            pending, pending_chars = [], 0
            size += len(content.encode())
            chunks += 1
            return await self.store.write_document_chunk(
                job.id, self.worker_id, generation, chunks - 1, content
            )

        index = 0
        async for page in self.store.iter_render_pages(job.id):
            section = document.section(index, page)
            index += 1
            pending.append(section)
            pending_chars += len(section)
            if pending_chars >= DOCUMENT_CHUNK_CHARS and not await flush():
                return None
        if pending and not await flush():
            return None
        return generation, size

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


def _honours_canonical(claim: PageClaim, canonical: str, policy: LinkPolicy) -> bool:
    """Whether a page's ``<link rel=canonical>`` becomes its identity: when the crawl would take
    that URL itself, except on the start page and except towards the start page (a site-wide
    canonical to the home page is a common mistake that would fold every page into one)."""
    if claim.is_start_page or canonical == policy.start_url:
        return False
    return policy.accepts(canonical)


def retry_delay(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before another attempt: exponential backoff (0.5 s doubling, at most 30 s) with
    full jitter over its upper half, and never less than the server's Retry-After."""
    backoff = min(30.0, 0.5 * 2.0**attempts) * random.uniform(0.5, 1.0)
    if retry_after is None:
        return backoff
    return retry_after + random.uniform(0.0, min(1.0, backoff))


def document_order(pages: Sequence[PageRecord]) -> dict[int, str]:
    """Final order keys: the site's own reading order where it can be read, else link order.

    :func:`docspasta.core.nav.reading_order` over the stored links, navigation lists and
    ``rel=next`` links: a page's navigation entries rank before its other links, and a ``rel=next``
    chain from the start page orders its pages. A pure function of the stored pages (contract 7);
    pages reached in neither way sort after the others, by their discovery key.
    """
    by_hash = {p.url_hash: p for p in pages}
    root = next((p for p in pages if p.order_key == "" and p.depth == 0), None)
    keys: dict[int, str] = {}
    if root is not None:
        edges = {p.url_hash: [url_hash(link) for link in p.links] for p in pages}
        tocs: dict[str, list[str]] = {}
        nexts: dict[str, str] = {}
        for page in pages:
            nav = page.nav or {}
            toc = [edges[page.url_hash][i] for i in nav.get("toc", ()) if i < len(page.links)]
            if toc:
                tocs[page.url_hash] = toc
            following = normalize_url(nav["next"]) if nav.get("next") else None
            if following is not None:
                nexts[page.url_hash] = url_hash(following)
        order = reading_order(root.url_hash, list(by_hash), edges, tocs, nexts)
        for rank, node in enumerate(order):
            keys[by_hash[node].id] = encode_order_key((rank,))
    for page in pages:
        # Digits only: text order must not depend on a database collation.
        keys.setdefault(page.id, UNREACHABLE_KEY_PREFIX + page.order_key)
    return keys


@contextlib.asynccontextmanager
async def consuming(worker: Worker, *, grace: float = 0.0) -> AsyncIterator[Worker]:
    """Let ``worker`` consume its queue, with the sweeper; on exit stop claiming, give running
    tasks ``grace`` seconds, and release the leases of what is left."""
    await worker.queue.start(worker.handle)
    sweeper = asyncio.create_task(worker.sweep_forever(), name="docspasta-sweeper")
    try:
        yield worker
    finally:
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)
        await worker.queue.stop(grace)
        await asyncio.shield(worker.store.release_leases(worker.worker_id))


@contextlib.asynccontextmanager
async def running_worker(
    store: Store,
    fetcher: Fetcher,
    queue: Queue,
    settings: Settings,
    metrics: Metrics | None = None,
    analyzer: Analyzer | None = None,
) -> AsyncIterator[Worker]:
    """Consume ``queue`` with a new worker and its sweeper; on exit stop and release leases."""
    async with consuming(Worker(store, fetcher, queue, settings, metrics, analyzer)) as worker:
        yield worker
