"""Page analysis off the event loop: a process pool sized to the cores.

Parsing and converting a large docs page takes milliseconds of pure CPU; run on the event loop,
it would stall fetches, database writes and progress streams. ``Analyzer`` runs
``core.page.analyze_page`` in worker processes:

- started with ``spawn`` (never ``fork``: the event loop and database threads exist by then;
  not ``forkserver`` either: CPython hands the forkserver's liveness pipe to every child, so
  pool workers and the forkserver keep each other alive after this process is SIGKILLed);
- every worker is this process's child and asks the kernel to kill it when its parent dies
  (``PR_SET_PDEATHSIG``), so a SIGKILLed crawl leaves no orphans (tested);
- a broken pool (a worker killed, out of memory) is replaced and the page analysed again once.

``processes=0`` analyses in the calling thread (tests, tiny crawls).
"""

from __future__ import annotations

import asyncio
import ctypes
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
from docspasta.domain import CrawlOptions

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Pool initializer: SIGKILL this worker when its parent process goes away."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    # Ctrl-C goes to the whole process group; the parent decides, workers just finish.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Analyzer:
    """Analyses pages in a pool of processes (or inline with ``processes=0``)."""

    def __init__(self, processes: int) -> None:
        if processes < 0:
            raise ValueError("processes must be >= 0")
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._replacing = asyncio.Lock()

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
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=context,
            initializer=_die_with_parent,
            initargs=(os.getpid(),),
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def analyze(
        self, html: bytes, url: str, *, encoding: str | None, options: CrawlOptions
    ) -> PageAnalysis:
        """``analyze_page`` for one page, in a worker process when there is a pool."""
        call = partial(analyze_page, html, url, encoding=encoding, options=options)
        if not self.processes:
            return call()
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            pool = self._pool
            if pool is None:
                raise RuntimeError("the analyzer is closed")
            try:
                return await loop.run_in_executor(pool, call)
            except BrokenProcessPool:
                if attempt == 2:
                    raise
                log.warning("the analysis pool broke (a worker died); starting a new one")
                await self._replace(pool)
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
