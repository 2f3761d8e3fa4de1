"""bench/store.py: the store alone. A real crawl's page writes replayed into a fresh store.

The crawl pipeline's database work (claim a page, then write its content, counters and new
pages) replayed without fetching or converting anything, so the figure is the store's own:
CPU seconds of this process per page, at the crawl's concurrency.

    .venv/bin/python bench/store.py                      # postgresql-doc-15, SQLite file
    .venv/bin/python bench/store.py --db postgresql+asyncpg://postgres@127.0.0.1/bench_store

1. The corpus is served from 127.0.0.1 and crawled once with the docspasta command (cached in
   CACHE/store-source-<corpus>.db): every page's links, title and markdown.
2. A fresh job is created in the target store (a temporary SQLite file, or the ``--db``
   database, which must exist and be empty of other work), and ``--concurrency`` tasks do
   what the worker does for each page: ``claim_page``, then ``complete_page`` with the crawled
   page's outcome and its links as new pages, until no page is left.
3. It prints the pages, the wall seconds and this process's CPU per page (``getrusage``: the
   driver threads included), for ``--rounds`` rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from corpora import CORPORA, prepare  # noqa: E402
from harness import start_server  # noqa: E402

from docspasta.core.assemble import encode_order_key  # noqa: E402
from docspasta.core.urls import url_hash  # noqa: E402
from docspasta.domain import CrawlOptions  # noqa: E402
from docspasta.store import NewPage, PageOutcome, Store  # noqa: E402

Page = tuple[list[str], str, str]  # links, title, markdown


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def crawled_pages(corpus: str, cache_dir: Path, concurrency: int) -> tuple[str, dict[str, Page]]:
    """The start URL and, per URL, the links, title and markdown of a real crawl (cached)."""
    source = cache_dir / f"store-source-{corpus}.db"
    site_root = prepare(CORPORA[corpus], cache_dir)
    if not source.exists():
        server, port = start_server(site_root, 0)
        try:
            start = f"http://127.0.0.1:{port}{CORPORA[corpus].start_path}"
            with tempfile.TemporaryDirectory() as work:
                partial = Path(work) / "source.db"
                command = [
                    str(BENCH.parent / ".venv" / "bin" / "docspasta"),
                    *("crawl", start, "--allow-private-host", "127.0.0.1"),
                    *("--db", f"sqlite+aiosqlite:///{partial}", "-o", str(Path(work) / "o.md")),
                    *("--concurrency", str(concurrency), "--max-pages", "5000"),
                    *("--no-politeness", "--quiet"),
                ]
                subprocess.run(command, check=True)
                partial.rename(source)
        finally:
            server.kill()
    with sqlite3.connect(source) as conn:
        rows = conn.execute(
            "SELECT p.url, p.links, p.title, p.depth, (SELECT group_concat(content, '') FROM "
            "(SELECT content FROM page_content_chunks c WHERE c.page_id = p.id "
            "ORDER BY chunk_index)) FROM crawled_pages p WHERE p.status = 'completed'"
        ).fetchall()
    start = next(url for url, _links, _title, depth, _md in rows if depth == 0)
    return start, {
        url: (json.loads(links or "[]"), title, md or "") for url, links, title, _d, md in rows
    }


async def replay(
    database_url: str, start: str, pages: dict[str, Page], concurrency: int
) -> tuple[int, float, float]:
    store = await Store.open(database_url)
    try:
        job, _ = await store.create_job("bench", start, CrawlOptions(max_pages=5000))
        root = NewPage(url=start, url_hash=url_hash(start), depth=0, order_key="")
        queue: asyncio.Queue[int] = asyncio.Queue()
        for task in await store.start_job(job.id, None, [root]):
            assert task.page_id is not None
            queue.put_nowait(task.page_id)
        seen: set[str] = {root.url_hash}
        done = 0

        async def work() -> None:
            nonlocal done
            while True:
                page_id = await queue.get()
                claim = await store.claim_page(job.id, page_id, "bench", 60)
                if claim is not None:
                    links, title, markdown = pages.get(claim.url, ([], "", ""))
                    children = [
                        NewPage(
                            url=link,
                            url_hash=url_hash(link),
                            depth=claim.depth + 1,
                            order_key=claim.order_key + encode_order_key((position,)),
                            discovered_from=claim.id,
                        )
                        for position, link in enumerate(links)
                        if url_hash(link) not in seen  # the worker's own filter (Worker._seen)
                    ]
                    seen.update(child.url_hash for child in children)
                    outcome = PageOutcome(
                        final_url=claim.url,
                        final_url_hash=url_hash(claim.url),
                        http_status=200,
                        title=title,
                        markdown=markdown,
                        links=tuple(links),
                        word_count=len(markdown.split()),
                        token_count=len(markdown) // 4,
                    )
                    write = await store.complete_page(claim, outcome, children)
                    for task in write.tasks:
                        if task.page_id is not None:
                            queue.put_nowait(task.page_id)
                    done += 1
                queue.task_done()

        started_cpu, started = cpu_seconds(), time.perf_counter()
        workers = [asyncio.create_task(work()) for _ in range(concurrency)]
        await queue.join()
        wall, cpu = time.perf_counter() - started, cpu_seconds() - started_cpu
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        return done, wall, cpu
    finally:
        await store.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="postgres")
    parser.add_argument("--db", help="target database URL (default: a fresh SQLite file)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    default_cache = os.environ.get("DOCSPASTA_BENCH_CACHE", "~/.cache/docspasta-bench")
    parser.add_argument("--cache-dir", type=Path, default=Path(default_cache).expanduser())
    args = parser.parse_args(argv)
    start, pages = crawled_pages(args.corpus, args.cache_dir, args.concurrency)
    print(f"{CORPORA[args.corpus].title}: {len(pages)} pages, concurrency {args.concurrency}")
    for round_ in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory() as work:
            url = args.db or f"sqlite+aiosqlite:///{Path(work) / 'store.db'}"
            done, wall, cpu = asyncio.run(replay(url, start, pages, args.concurrency))
        print(
            f"  round {round_}: {done} pages, wall {wall:.2f} s, "
            f"store CPU {cpu:.2f} s = {cpu / done * 1000:.2f} ms/page"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
