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
- tokens are counted by one of the workers, the token counter: a tiktoken encoding weighs
  ~45 MB and takes ~0.3 s of CPU to build (holding the GIL), once per process. The counter is
  started with ``--tokens`` and builds it while it boots, on the core the crawl process leaves
  idle while it imports and opens its store; the crawl process never builds one. A page the
  counter analyses has its tokens counted in the same request; any other page's markdown is
  sent to it afterwards (~2.5 ms of CPU per 27 kB page of library/). Counted in the crawl
  process instead, the build was on the crawl's critical path (the first page waited for it)
  and the counting took that process ~0.5 s of CPU per 317 pages of library/. ``docspasta
  crawl`` starts the counter before it imports its command line; the analyzer then takes that
  process (``_Adopted``) instead of starting one.

``processes=0`` analyses in the calling thread (tests, tiny crawls).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import pickle
import subprocess
from collections import deque
from collections.abc import Callable
from types import TracebackType

from docspasta.analysis_worker import HEADER, command, take_counter
from docspasta.core.page import AnalysisOptions, PageAnalysis, PageOptions, analyze_page

log = logging.getLogger(__name__)

#: Pages sent to a worker ahead of its replies. Alternated crawls against 2: 3 was 4-6 % faster
#: on both corpora of bench/crawl; 4 was no faster than 3.
AHEAD = 3
_CLOSE_SECONDS = 5.0
_BOOT_FAILURES = 3


class WorkerDiedError(RuntimeError):
    """An analysis worker process ended while it held a page."""


class _Adopted:
    """A worker started before the event loop ran (:func:`docspasta.analysis_worker.start_counter`),
    behind the part of ``asyncio.subprocess.Process`` the analyzer uses."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        stdin: asyncio.StreamWriter,
        stdout: asyncio.StreamReader,
    ) -> None:
        self._popen = popen
        self.stdin = stdin
        self.stdout = stdout

    @classmethod
    async def adopt(cls, popen: subprocess.Popen[bytes]) -> _Adopted:
        loop = asyncio.get_running_loop()
        stdout = asyncio.StreamReader(limit=1 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdout), popen.stdout)
        transport, protocol = await loop.connect_write_pipe(
            lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader()), popen.stdin
        )
        return cls(popen, asyncio.StreamWriter(transport, protocol, None, loop), stdout)

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    def kill(self) -> None:
        self._popen.kill()  # a no-op once it has been waited for

    async def wait(self) -> int:
        # Nothing in asyncio watches this child, so there is no event to wait on: poll (it is
        # waited for when it has closed its pipe or been killed, so its end is near).
        while (code := self._popen.poll()) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        return code


@dataclasses.dataclass(eq=False)
class _Worker:
    process: asyncio.subprocess.Process | _Adopted
    #: The one that counts the crawl's tokens (it holds the encoding).
    counts: bool = False
    #: The replies owed, in the order the requests were sent.
    owed: deque[asyncio.Future[object]] = dataclasses.field(default_factory=deque)
    reader: asyncio.Task[None] | None = None
    #: Stopped on purpose (``Analyzer.rest``): not to be replaced.
    retired: bool = False
    #: It sent a reply: it started well.
    answered: bool = False


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
        #: A token counter is being started (at most one at a time).
        self._counter_starting = False
        self._resting = False
        self._closed = False
        self._launches: set[asyncio.Task[None]] = set()
        #: Workers in a row that died before their first reply; at :data:`_BOOT_FAILURES`
        #: no more are started (a worker that cannot start would be started forever).
        self._boot_failures = 0
        #: Worker processes started so far (for tests and diagnostics).
        self.started = 0

    async def __aenter__(self) -> Analyzer:
        # Start them all now: they boot while the crawl opens its store, reads robots.txt and
        # fetches its start page.
        await self._launch(self.processes)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _counter(self) -> _Worker | None:
        return next((w for w in self._live() if w.counts), None)

    def _live(self) -> list[_Worker]:
        return [w for w in self._workers if w.process.returncode is None]

    async def _launch(self, count: int) -> None:
        """Start ``count`` workers, the first of them the token counter if there is none;
        counted as starting from now (before their tasks run), so a request that finds no
        worker meanwhile waits for them. A caller cancelled meanwhile does not cancel the starts
        (a process half started would be left to the event loop's teardown); :meth:`aclose`
        waits for them."""
        self._starting += count
        starts = []
        for _ in range(count):
            counts = not self._counter_starting and self._counter() is None
            self._counter_starting |= counts
            starts.append(asyncio.create_task(self._start(counts)))
        for start in starts:
            self._launches.add(start)
            start.add_done_callback(self._launches.discard)
        await asyncio.shield(asyncio.gather(*starts))

    async def _start(self, counts: bool) -> None:
        """One worker (:meth:`_launch` counted it in ``_starting``)."""
        try:
            early = take_counter() if counts else None
            process: asyncio.subprocess.Process | _Adopted
            if early is not None:
                process = await _Adopted.adopt(early)
            else:
                process = await asyncio.create_subprocess_exec(
                    *command(counts),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    limit=1 << 20,
                )
        finally:
            self._starting -= 1
            if counts:
                self._counter_starting = False
            self._changed.set()
        self.started += 1
        worker = _Worker(process, counts=counts)
        if self._closed or self._resting:
            await self._stop(worker)
            return
        worker.reader = asyncio.create_task(self._read(worker))
        self._workers.append(worker)
        self._changed.set()

    async def _read(self, worker: _Worker) -> None:
        """Hand each reply to the request that waits for it; when the worker dies, fail (and so
        retry) the requests it held and start another."""
        stream = worker.process.stdout
        assert stream is not None
        try:
            while True:
                (size,) = HEADER.unpack(await stream.readexactly(HEADER.size))
                ok, value = pickle.loads(await stream.readexactly(size))
                owed = worker.owed.popleft()
                if not worker.answered:
                    worker.answered = True
                    self._boot_failures = 0
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
        await self._ended(worker, await worker.process.wait())

    async def _ended(self, worker: _Worker, code: int) -> None:
        """A worker exited: fail the requests it held; start another unless it was stopped."""
        if worker in self._workers:
            self._workers.remove(worker)
        died = WorkerDiedError(f"analysis worker {worker.process.pid} ended (exit {code})")
        for owed in worker.owed:
            if not owed.done():
                owed.set_exception(died)
        if self._closed or worker.retired:
            return
        if not worker.answered:
            self._boot_failures += 1
        if self._boot_failures >= _BOOT_FAILURES:
            log.error("%s: %d workers in a row died before their first reply", died, _BOOT_FAILURES)
            self._changed.set()  # requests waiting for a worker see there will be none
            return
        log.warning("%s; starting another", died)
        await self._launch(1)

    def _pick(self) -> _Worker | None:
        """The live worker with the fewest requests owed; on a tie, not the token counter
        (it has the tokens to count, and it is still building its encoding at the start)."""
        return min(self._live(), key=lambda w: (len(w.owed), w.counts), default=None)

    async def analyze(
        self, html: bytes, url: str, *, encoding: str | None, options: AnalysisOptions
    ) -> PageAnalysis:
        """``analyze_page`` for one page, in a worker process when there are workers; its
        tokens are counted by the token counter (in the same request when it analysed the
        page)."""
        if not self.processes:
            return analyze_page(html, url, encoding=encoding, options=options)
        page = PageOptions.of(options)

        def request(worker: _Worker) -> tuple[object, ...]:
            return ("page", html, url, encoding, page, worker.counts)

        analysis = await self._ask(request, self._pick)
        assert isinstance(analysis, PageAnalysis)
        if not analysis.markdown or analysis.token_count:
            return analysis  # nothing to count, or counted already
        tokens = await self._ask(
            lambda _worker: ("tokens", analysis.markdown, page.token_encoding), self._counter
        )
        assert isinstance(tokens, int)
        return dataclasses.replace(analysis, token_count=tokens)

    async def _ask(
        self,
        request: Callable[[_Worker], tuple[object, ...]],
        choose: Callable[[], _Worker | None],
    ) -> object:
        """Send ``request(worker)`` to the worker ``choose`` gives; once more if it dies."""
        for attempt in (1, 2):
            try:
                return await self._send(request, choose)
            except WorkerDiedError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _send(
        self,
        request: Callable[[_Worker], tuple[object, ...]],
        choose: Callable[[], _Worker | None],
    ) -> object:
        async with self._slots:
            while (worker := choose()) is None:
                if self._closed:
                    raise RuntimeError("the analyzer is closed")
                if self._resting:  # the first page after a rest starts them again
                    self._resting = False
                    await self._launch(self.processes)
                    continue
                # A worker that exited and whose end is not handled yet is about to be replaced
                # (``_ended``): wait for that as for a start.
                if not self._starting and len(self._live()) == len(self._workers):
                    if self._boot_failures >= _BOOT_FAILURES:
                        raise RuntimeError(
                            f"analysis workers die as they start ({_BOOT_FAILURES} in a row)"
                        )
                    raise RuntimeError("no analysis worker could be started")
                self._changed.clear()
                await self._changed.wait()  # a worker is being started or replaced
            body = pickle.dumps(request(worker), pickle.HIGHEST_PROTOCOL)
            owed: asyncio.Future[object] = asyncio.get_running_loop().create_future()
            worker.owed.append(owed)
            stdin = worker.process.stdin
            assert stdin is not None
            stdin.writelines((HEADER.pack(len(body)), body))  # one write, not two
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
        while self._launches:  # each stops the worker it started
            await asyncio.gather(*self._launches, return_exceptions=True)
        workers, self._workers = self._workers, []
        await asyncio.gather(*(self._stop(w) for w in workers))

    async def _stop(self, worker: _Worker) -> None:
        if worker.process.stdin is not None:
            worker.process.stdin.close()
        if not worker.owed and worker.process.returncode is None:
            # It holds no request: nothing to finish. A worker still booting (imports, the
            # counter's encoding) would otherwise delay a crawl refused at the door by ~0.5 s.
            worker.process.kill()
        try:
            async with asyncio.timeout(_CLOSE_SECONDS):
                await worker.process.wait()
        except TimeoutError:
            worker.process.kill()
            await worker.process.wait()
        if worker.reader is not None:
            await worker.reader

    def starting(self) -> int:
        """How many workers are being started now (for tests and diagnostics)."""
        return self._starting

    def worker_pids(self) -> list[int]:
        """The live worker processes (for tests and diagnostics)."""
        return [w.process.pid for w in self._live()]

    def counter_pid(self) -> int | None:
        """The live token counter's process (for tests and diagnostics)."""
        counter = self._counter()
        return counter.process.pid if counter is not None else None
