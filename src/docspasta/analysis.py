"""Page analysis off the event loop: worker processes, as many as the cores.

Parsing and converting a large docs page takes milliseconds of pure CPU; run on the event loop,
it would stall fetches, database writes and progress streams. ``Analyzer`` runs
``core.page.analyze_page`` in worker processes (:mod:`docspasta.analysis_worker`):

- each worker is a fresh interpreter (``subprocess``, never ``fork``: the event loop and database
  threads exist by then) that imports the crawler core only, ~40 MB before its first page;
- pages go to it over a pipe, as length-prefixed pickles, and its replies come back on another,
  read by the event loop itself: no helper threads, no ``multiprocessing`` machinery. (A
  ``ProcessPoolExecutor`` with ``spawn`` cost the parent two thread hand-offs per page, a 12 MB
  resource-tracker process, and ~16 MB per worker for the pydantic models its pickled options
  and re-imported main module brought in; ``forkserver`` hands its liveness pipe to every child,
  so workers and the server keep each other alive after the parent is SIGKILLed);
- each worker is sent up to :data:`AHEAD` pages before it answers, so it never waits for the
  event loop between two pages;
- every worker is this process's child and asks the kernel to kill it when its parent dies
  (``PR_SET_PDEATHSIG``), and exits when its pipe closes, so a SIGKILLed crawl leaves no orphans
  (tested);
- a worker that dies (killed, out of memory) is replaced, and the pages it held are analysed
  again once, by another;
- tokens are counted here, in the parent: a tiktoken encoding weighs ~50 MB and takes ~0.3 s of
  CPU to build, once per process; counting in the parent builds one instead of one per worker,
  and costs the parent ~0.7 ms per 10 kB of markdown. The build holds the GIL (tiktoken parses
  the ranks and compiles its pattern without releasing it), so it starts with the first page's
  analysis, when the crawl has nothing else to do, not while robots.txt and the sitemaps are
  read (it stalled those by ~0.4 s).

``processes=0`` analyses in the calling thread (tests, tiny crawls).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import pickle
import sys
from collections import deque
from types import TracebackType

from docspasta.analysis_worker import HEADER
from docspasta.core.page import AnalysisOptions, PageAnalysis, PageOptions, analyze_page
from docspasta.core.tokens import DEFAULT_ENCODING, count_tokens
from docspasta.core.tokens import encoding as load_encoding

log = logging.getLogger(__name__)

#: Pages sent to a worker ahead of its replies. Alternated crawls against 2: 3 was 4-6 % faster
#: on both corpora of bench/crawl; 4 was no faster than 3.
AHEAD = 3
#: How a worker starts: the parent's ``sys.path`` (``-I`` leaves out the environment's and the
#: current directory's), then :func:`docspasta.analysis_worker.main`.
_BOOT = (
    "import sys; sys.path[:] = sys.argv[2:]; "
    "from docspasta.analysis_worker import main; main(int(sys.argv[1]))"
)
_CLOSE_SECONDS = 5.0


class WorkerDiedError(RuntimeError):
    """An analysis worker process ended while it held a page."""


@dataclasses.dataclass(eq=False)
class _Worker:
    process: asyncio.subprocess.Process
    #: The replies owed, in the order the pages were sent.
    owed: deque[asyncio.Future[PageAnalysis]] = dataclasses.field(default_factory=deque)
    reader: asyncio.Task[None] | None = None
    #: Stopped on purpose (``Analyzer.rest``): not to be replaced.
    retired: bool = False


class Analyzer:
    """Analyses pages in worker processes (or inline with ``processes=0``)."""

    def __init__(self, processes: int) -> None:
        if processes < 0:
            raise ValueError("processes must be >= 0")
        self.processes = processes
        self._workers: list[_Worker] = []
        self._slots = asyncio.Semaphore(processes * AHEAD)
        self._changed = asyncio.Event()
        self._starting = 0
        self._resting = False
        self._closed = False
        self._launches: set[asyncio.Task[None]] = set()
        self._warming: asyncio.Task[object] | None = None

    async def __aenter__(self) -> Analyzer:
        # Start them all now, while the crawl fetches robots.txt and its start page.
        await self._launch(self.processes)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _launch(self, count: int) -> None:
        """Start ``count`` workers; counted as starting from now (before their tasks run), so a
        page that finds no worker meanwhile waits for them. A caller cancelled meanwhile does not
        cancel the starts (a process half started would be left to the event loop's teardown);
        :meth:`aclose` waits for them."""
        self._starting += count
        starts = [asyncio.create_task(self._start()) for _ in range(count)]
        for start in starts:
            self._launches.add(start)
            start.add_done_callback(self._launches.discard)
        await asyncio.shield(asyncio.gather(*starts))

    async def _start(self) -> None:
        """One worker (:meth:`_launch` counted it in ``_starting``)."""
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",
                "-c",
                _BOOT,
                str(os.getpid()),
                *sys.path,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=1 << 20,
            )
        finally:
            self._starting -= 1
            self._changed.set()
        worker = _Worker(process)
        if self._closed or self._resting:
            await self._stop(worker)
            return
        worker.reader = asyncio.create_task(self._read(worker))
        self._workers.append(worker)
        self._changed.set()

    async def _read(self, worker: _Worker) -> None:
        """Hand each reply to the page that waits for it; when the worker dies, fail (and so
        retry) the pages it held and start another."""
        stream = worker.process.stdout
        assert stream is not None
        try:
            while True:
                (size,) = HEADER.unpack(await stream.readexactly(HEADER.size))
                ok, value = pickle.loads(await stream.readexactly(size))
                owed = worker.owed.popleft()
                if owed.done():
                    continue  # its caller was cancelled
                if ok:
                    owed.set_result(value)
                else:
                    owed.set_exception(value)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # it exited
        except Exception:  # a reply we cannot read: the worker is of no more use
            log.exception("analysis worker %s sent an unreadable reply", worker.process.pid)
            worker.process.kill()
        code = await worker.process.wait()
        if worker in self._workers:
            self._workers.remove(worker)
        died = WorkerDiedError(f"analysis worker {worker.process.pid} ended (exit {code})")
        for owed in worker.owed:
            if not owed.done():
                owed.set_exception(died)
        if not self._closed and not worker.retired:
            log.warning("%s; starting another", died)
            await self._launch(1)

    def _pick(self) -> _Worker | None:
        """The live worker with the fewest pages owed."""
        live = [w for w in self._workers if w.process.returncode is None]
        return min(live, key=lambda w: len(w.owed), default=None)

    async def analyze(
        self, html: bytes, url: str, *, encoding: str | None, options: AnalysisOptions
    ) -> PageAnalysis:
        """``analyze_page`` for one page, in a worker process when there are workers."""
        if not self.processes:
            return analyze_page(html, url, encoding=encoding, options=options)
        request = pickle.dumps(
            (html, url, encoding, PageOptions.of(options)), pickle.HIGHEST_PROTOCOL
        )
        for attempt in (1, 2):
            try:
                analysis = await self._send(request)
            except WorkerDiedError:
                if attempt == 2:
                    raise
                continue
            if self._warming is not None and not self._warming.done():
                await asyncio.shield(self._warming)
            tokens = count_tokens(analysis.markdown, options.token_encoding)
            return dataclasses.replace(analysis, token_count=tokens)
        raise AssertionError("unreachable")

    async def _send(self, request: bytes) -> PageAnalysis:
        async with self._slots:
            while (worker := self._pick()) is None:
                if self._closed:
                    raise RuntimeError("the analyzer is closed")
                if self._resting:  # the first page after a rest starts them again
                    self._resting = False
                    await self._launch(self.processes)
                    continue
                if not self._starting:
                    raise RuntimeError("no analysis worker could be started")
                self._changed.clear()
                await self._changed.wait()  # a worker is being started
            owed: asyncio.Future[PageAnalysis] = asyncio.get_running_loop().create_future()
            worker.owed.append(owed)
            stdin = worker.process.stdin
            assert stdin is not None
            stdin.writelines((HEADER.pack(len(request)), request))  # one write, not two
            if self._warming is None:  # the first page: build the encoding meanwhile
                self._warming = asyncio.create_task(
                    asyncio.to_thread(load_encoding, DEFAULT_ENCODING)
                )
            return await owed

    async def rest(self) -> None:
        """Stop the workers if they hold no page; the next page starts them again.

        A crawl's workers weigh ~40-60 MB each; while its document is assembled there is no
        page to analyse, and they would only add to the peak."""
        if not self.processes or self._resting or any(w.owed for w in self._workers):
            return
        self._resting = True
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.retired = True
        await asyncio.gather(*(self._stop(w) for w in workers))

    async def aclose(self) -> None:
        """Stop the workers: close their pipes, wait for them to exit (kill them after a while)."""
        self._closed = True
        self._changed.set()
        if self._warming is not None:
            self._warming.cancel()  # the thread finishes its load; nothing waits for it
            self._warming = None
        while self._launches:  # each stops the worker it started
            await asyncio.gather(*self._launches, return_exceptions=True)
        workers, self._workers = self._workers, []
        await asyncio.gather(*(self._stop(w) for w in workers))

    async def _stop(self, worker: _Worker) -> None:
        if worker.process.stdin is not None:
            worker.process.stdin.close()
        try:
            async with asyncio.timeout(_CLOSE_SECONDS):
                await worker.process.wait()
        except TimeoutError:
            worker.process.kill()
            await worker.process.wait()
        if worker.reader is not None:
            await worker.reader

    def worker_pids(self) -> list[int]:
        """The live worker processes (for tests and diagnostics)."""
        return [w.process.pid for w in self._workers if w.process.returncode is None]
