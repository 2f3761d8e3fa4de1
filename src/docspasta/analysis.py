"""Page analysis off the event loop: a process pool sized to the cores.

Parsing and converting a large docs page takes milliseconds of pure CPU; run on the event loop,
it would stall fetches, database writes and progress streams. ``Analyzer`` runs
``core.page.analyze_page`` in worker processes:

- started with ``spawn`` (never ``fork``: the event loop and database threads exist by then;
  not ``forkserver`` either: CPython hands the forkserver's liveness pipe to every child, so
  pool workers and the forkserver keep each other alive after this process is SIGKILLed);
- every worker is this process's child and asks the kernel to kill it when its parent dies
  (``PR_SET_PDEATHSIG``), so a SIGKILLed crawl leaves no orphans (tested);
- a broken pool (a worker killed, out of memory) is replaced and the page analysed again once;
- tokens are counted here, in the parent: a tiktoken encoding weighs ~50 MB and takes ~0.35 s
  of CPU to build, once per process; counting in the parent builds one instead of one per
  worker, and costs the parent ~0.7 ms per 10 kB of markdown. The build holds the GIL (tiktoken
  parses the ranks and compiles its pattern without releasing it), so it starts with the first
  page's analysis, when the crawl has nothing else to do, not while robots.txt and the
  sitemaps are read (it stalled those by ~0.4 s).

``processes=0`` analyses in the calling thread (tests, tiny crawls).
"""

from __future__ import annotations

import asyncio
import ctypes
import dataclasses
import logging
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from types import TracebackType

from docspasta.core.page import PageAnalysis, analyze_page
from docspasta.core.tokens import DEFAULT_ENCODING, count_tokens
from docspasta.core.tokens import encoding as load_encoding
from docspasta.domain import CrawlOptions

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _start_worker(parent: int) -> None:
    """Pool initializer: SIGKILL this worker when its parent process goes away."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    # Ctrl-C goes to the whole process group; the parent decides, workers just finish.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _ready() -> None:
    """A task that does nothing: submitting one per worker starts them all at once."""


class Analyzer:
    """Analyses pages in a pool of processes (or inline with ``processes=0``)."""

    def __init__(self, processes: int) -> None:
        if processes < 0:
            raise ValueError("processes must be >= 0")
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._replacing = asyncio.Lock()
        self._warming: asyncio.Task[object] | None = None

    async def __aenter__(self) -> Analyzer:
        if self.processes:
            self._pool = self._new_pool()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _new_pool(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=context,
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )
        # The executor starts a process per task submitted while none is idle: start them all
        # now, while the crawl fetches robots.txt and its start page, not on the first pages.
        for _ in range(self.processes):
            pool.submit(_ready)
        return pool

    def close(self) -> None:
        if self._warming is not None:
            self._warming.cancel()  # the thread finishes its load; nothing waits for it
            self._warming = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def analyze(
        self, html: bytes, url: str, *, encoding: str | None, options: CrawlOptions
    ) -> PageAnalysis:
        """``analyze_page`` for one page, in a worker process when there is a pool."""
        if not self.processes:
            return analyze_page(html, url, encoding=encoding, options=options)
        call = partial(analyze_page, html, url, encoding=encoding, options=options, tokens=False)
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            pool = self._pool
            if pool is None:
                raise RuntimeError("the analyzer is closed")
            try:
                pending = loop.run_in_executor(pool, call)
                if self._warming is None:  # the first page: build the encoding meanwhile
                    self._warming = asyncio.create_task(
                        asyncio.to_thread(load_encoding, DEFAULT_ENCODING)
                    )
                analysis = await pending
            except BrokenProcessPool:
                if attempt == 2:
                    raise
                log.warning("the analysis pool broke (a worker died); starting a new one")
                await self._replace(pool)
                continue
            if self._warming is not None and not self._warming.done():
                await asyncio.shield(self._warming)
            tokens = count_tokens(analysis.markdown, options.token_encoding)
            return dataclasses.replace(analysis, token_count=tokens)
        raise AssertionError("unreachable")

    async def _replace(self, broken: ProcessPoolExecutor) -> None:
        async with self._replacing:
            if self._pool is broken:  # the first caller to notice replaces it
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()

    def worker_pids(self) -> list[int]:
        """The pool's live worker processes (for tests and diagnostics)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return [p.pid for p in processes.values() if p.is_alive() and p.pid is not None]
