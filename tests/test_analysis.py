"""The analysis worker processes: same output as inline, survives a killed worker, leaves no
orphans when the crawl process is SIGKILLed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from selectolax.lexbor import SelectolaxError

from docspasta import analysis_worker
from docspasta.analysis import Analyzer
from docspasta.core.page import PageOptions, analyze_page
from docspasta.domain import CrawlOptions, JobStatus
from docspasta.fetch import Fetcher
from docspasta.queue.local import LocalQueue
from docspasta.runtime import create_job, fetch_config, open_store, run_job
from docspasta.settings import Settings
from docspasta.worker import running_worker
from tests.support.http import FixtureServer
from tests.support.sites import EXPECTED_ORDER, PAGES, page, serve_guide

OPTIONS = CrawlOptions()


async def test_pool_gives_the_same_document_as_inline(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    documents: list[tuple[str | None, int, int]] = []
    async with open_store(settings) as store:
        for processes in (0, 2):
            configured = settings.model_copy(update={"analysis_processes": processes})
            job_id = await create_job(store, start, OPTIONS, configured)
            run = await run_job(store, job_id, configured)
            documents.append((run.markdown, run.job.total_words, run.job.total_tokens))
    assert documents[0][0] is not None
    assert documents[0][2] > 0
    assert documents[0] == documents[1]  # tokens counted by the token counter, the same


async def test_a_killed_pool_worker_is_replaced() -> None:
    title, body = PAGES["/docs/guide/intro.html"]
    html = page(title, body).encode()
    async with Analyzer(processes=1) as analyzer:
        first = await analyzer.analyze(
            html, "http://d.test/intro.html", encoding=None, options=OPTIONS
        )
        [pid] = analyzer.worker_pids()
        os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.2)
        again = await analyzer.analyze(
            html, "http://d.test/intro.html", encoding=None, options=OPTIONS
        )
        assert again == first
        assert analyzer.worker_pids()
        assert pid not in analyzer.worker_pids()


INTRO = "http://d.test/intro.html"


async def test_the_workers_rest_once_the_crawl_is_finalized(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    """No page is left to analyse when the document is assembled: the workers' memory is
    given back then, not when the analyzer closes."""
    start = serve_guide(fixture_server)
    async with open_store(settings) as store:
        job_id = await create_job(store, start, OPTIONS, settings)
        async with (
            Fetcher(fetch_config(settings)) as fetcher,
            Analyzer(processes=2) as analyzer,
            running_worker(
                store, fetcher, LocalQueue(concurrency=4), settings, analyzer=analyzer
            ) as worker,
        ):
            started = analyzer.worker_pids()
            await worker.sweep(older_than=0.0, job_id=job_id)
            for _ in range(400):  # 20 s
                job = await store.get_job(job_id)
                if job is not None and job.status.is_terminal:
                    break
                await asyncio.sleep(0.05)
            assert job is not None
            assert job.status is JobStatus.COMPLETED
            assert job.pages_completed == len(EXPECTED_ORDER)
            assert len(started) == 2
            assert analyzer.worker_pids() == []


def intro_html() -> bytes:
    title, body = PAGES["/docs/guide/intro.html"]
    return page(title, body).encode()


async def test_rest_stops_the_workers_until_the_next_page() -> None:
    html = intro_html()
    async with Analyzer(processes=2) as analyzer:
        first = await analyzer.analyze(html, INTRO, encoding=None, options=OPTIONS)
        before = analyzer.worker_pids()
        assert len(before) == 2
        await analyzer.rest()
        assert analyzer.worker_pids() == []
        assert not any(alive(pid) for pid in before)
        again = await analyzer.analyze(html, INTRO, encoding=None, options=OPTIONS)
        assert again == first
        after = analyzer.worker_pids()
        assert len(after) == 2
        assert not set(after) & set(before)


async def test_pages_arriving_together_after_a_rest_all_wait_for_the_new_workers() -> None:
    html = intro_html()
    async with Analyzer(processes=2) as analyzer:
        await analyzer.rest()
        analyses = await asyncio.gather(
            *(analyzer.analyze(html, INTRO, encoding=None, options=OPTIONS) for _ in range(6))
        )
        assert analyses == [analyze_page(html, INTRO)] * 6
        assert len(analyzer.worker_pids()) == 2


async def test_closing_while_workers_start_waits_for_them() -> None:
    """Workers being started when the analyzer closes are started and stopped before the close
    returns: no start is left for the event loop's teardown to cancel (a subprocess cancelled
    while it starts can hang that teardown)."""
    html = intro_html()
    async with Analyzer(processes=2) as analyzer:
        await analyzer.rest()
        waking = asyncio.create_task(analyzer.analyze(html, INTRO, encoding=None, options=OPTIONS))
        await asyncio.sleep(0)  # it begins to start the workers; the analyzer closes meanwhile
    left = [t for t in asyncio.all_tasks() if "Analyzer" in t.get_coro().__qualname__]
    assert left == [waking]
    with pytest.raises(RuntimeError, match="the analyzer is closed"):
        await waking
    assert analyzer.worker_pids() == []


async def test_rest_keeps_workers_that_hold_a_page() -> None:
    html = intro_html()
    async with Analyzer(processes=1) as analyzer:
        before = analyzer.worker_pids()
        analysis, _ = await asyncio.gather(
            analyzer.analyze(html, INTRO, encoding=None, options=OPTIONS), analyzer.rest()
        )
        assert analysis == analyze_page(html, INTRO)
        assert analyzer.worker_pids() == before


async def test_an_analysis_error_reaches_the_caller() -> None:
    bad = PageOptions(include_selectors=("[[[",))  # CrawlOptions would refuse it at the door
    with pytest.raises(SelectolaxError):
        analyze_page(intro_html(), INTRO, options=bad)
    async with Analyzer(processes=1) as analyzer:
        [pid] = analyzer.worker_pids()
        with pytest.raises(SelectolaxError) as raised:
            await analyzer.analyze(intro_html(), INTRO, encoding=None, options=bad)
        assert "analysis worker" in "".join(raised.value.__notes__)
        assert analyzer.worker_pids() == [pid]  # the worker lives on


async def test_workers_load_the_crawler_core_only() -> None:
    """No pydantic (the options travel as a plain dataclass), no database driver, no HTTP
    client: each would add megabytes to every worker. Only the token counter loads tiktoken."""
    async with Analyzer(processes=2) as analyzer:
        await analyzer.analyze(intro_html(), INTRO, encoding=None, options=OPTIONS)
        counter = analyzer.counter_pid()
        [other] = [pid for pid in analyzer.worker_pids() if pid != counter]
        maps = {
            pid: await asyncio.to_thread(Path(f"/proc/{pid}/maps").read_text)
            for pid in (counter, other)
        }
    for loaded in maps.values():
        assert "selectolax" in loaded  # the core is there
        for heavy in ("pydantic_core", "sqlalchemy", "asyncpg"):
            assert heavy not in loaded, heavy
    assert "tiktoken" in maps[counter]
    assert "tiktoken" not in maps[other]


GUIDE_PAGES = [(f"http://d.test{path}", page(*PAGES[path]).encode()) for path in PAGES]


async def test_every_page_has_its_tokens_counted_by_the_counter() -> None:
    """Pages the counter analyses are counted with their analysis; the others' markdown is
    sent to it: either way the counts are what an inline analysis gives."""
    assert len(GUIDE_PAGES) >= 6
    async with Analyzer(processes=2) as analyzer:
        analyses = await asyncio.gather(
            *(
                analyzer.analyze(html, url, encoding=None, options=OPTIONS)
                for url, html in GUIDE_PAGES
            )
        )
    expected = [analyze_page(html, url) for url, html in GUIDE_PAGES]
    assert all(a.token_count > 0 for a in expected)
    assert analyses == expected


async def test_a_killed_token_counter_is_replaced() -> None:
    url, html = GUIDE_PAGES[0]
    async with Analyzer(processes=2) as analyzer:
        counter = analyzer.counter_pid()
        assert counter is not None
        os.kill(counter, signal.SIGKILL)
        await asyncio.sleep(0.2)
        analyses = await asyncio.gather(
            *(analyzer.analyze(html, url, encoding=None, options=OPTIONS) for _ in range(4))
        )
        assert analyses == [analyze_page(html, url)] * 4
        assert analyzer.counter_pid() not in (None, counter)
        assert len(analyzer.worker_pids()) == 2


async def test_workers_that_die_as_they_start_are_not_started_forever(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(analysis_worker, "_BOOT", "import sys; sys.exit(3)")
    async with Analyzer(processes=2) as analyzer:
        for _ in range(2):  # the page dies with its workers, then there are none to ask
            with pytest.raises(RuntimeError, match=r"ended \(exit 3\)|die as they start"):
                async with asyncio.timeout(30):
                    await analyzer.analyze(intro_html(), INTRO, encoding=None, options=OPTIONS)
        for _ in range(100):
            if not analyzer.worker_pids() and not analyzer.starting():
                break
            await asyncio.sleep(0.05)
        with pytest.raises(RuntimeError, match="die as they start"):
            await analyzer.analyze(intro_html(), INTRO, encoding=None, options=OPTIONS)
        assert analyzer.started <= 2 + 3


async def test_the_counter_started_early_is_the_analyzers_counter() -> None:
    """``docspasta crawl`` starts the counter before it imports the command line
    (``analysis_worker.start_counter``): the crawl's analyzer takes it, starts no other, counts
    with it and stops it."""
    early = analysis_worker.start_counter()
    async with Analyzer(processes=2) as analyzer:
        assert analyzer.counter_pid() == early.pid
        assert len(analyzer.worker_pids()) == 2
        analyses = await asyncio.gather(
            *(
                analyzer.analyze(html, url, encoding=None, options=OPTIONS)
                for url, html in GUIDE_PAGES
            )
        )
    assert analyses == [analyze_page(html, url) for url, html in GUIDE_PAGES]
    assert analyzer.started == 2
    assert early.poll() is not None


async def test_an_early_counter_that_ended_is_not_taken() -> None:
    early = analysis_worker.start_counter()
    early.kill()
    early.wait()
    url, html = GUIDE_PAGES[0]
    async with Analyzer(processes=2) as analyzer:
        assert analyzer.counter_pid() not in (None, early.pid)
        assert await analyzer.analyze(html, url, encoding=None, options=OPTIONS) == analyze_page(
            html, url
        )


async def test_a_killed_early_counter_is_replaced() -> None:
    early = analysis_worker.start_counter()
    url, html = GUIDE_PAGES[0]
    async with Analyzer(processes=2) as analyzer:
        assert analyzer.counter_pid() == early.pid
        os.kill(early.pid, signal.SIGKILL)
        await asyncio.sleep(0.2)
        analyses = await asyncio.gather(
            *(analyzer.analyze(html, url, encoding=None, options=OPTIONS) for _ in range(4))
        )
        assert analyses == [analyze_page(html, url)] * 4
        assert analyzer.counter_pid() not in (None, early.pid)
        assert len(analyzer.worker_pids()) == 2
    assert early.returncode == -signal.SIGKILL


def workers_of(parent: int) -> list[int]:
    """The live analysis workers started for ``parent`` (their command line names it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"-c" in args and b"analysis_worker" in b" ".join(args):
            boot = args.index(b"-c") + 1
            if args[boot + 1 : boot + 2] == [str(parent).encode()] and alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def test_a_crawl_refused_before_it_starts_leaves_no_early_counter(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCSPASTA_")} | {
        "DOCSPASTA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'd.db'}",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "docspasta",
            "crawl",
            "https://docs.example.com/",
            "--concurrency",
            "999",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    early: list[int] = []
    deadline = time.monotonic() + 20
    while not early and process.poll() is None and time.monotonic() < deadline:
        early = workers_of(process.pid)  # started before the command line is even imported
        time.sleep(0.005)
    _, error = process.communicate(timeout=30)
    assert process.returncode == 2, error
    assert early, "no token counter was started early"
    deadline = time.monotonic() + 10
    while workers_of(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not workers_of(process.pid)


def test_the_crawl_process_builds_no_token_encoding() -> None:
    """The counter builds it (~45 MB, ~0.3 s with the GIL held): never the crawl process."""
    program = (
        "import asyncio, sys\n"
        "from docspasta.analysis import Analyzer\n"
        "from docspasta.core.page import PageOptions\n"
        "async def main():\n"
        "    async with Analyzer(processes=2) as analyzer:\n"
        f"        for url, html in {GUIDE_PAGES[:4]!r}:\n"
        "            analysis = await analyzer.analyze(html, url, encoding=None, "
        "options=PageOptions())\n"
        "            assert analysis.token_count > 0, url\n"
        "asyncio.run(main())\n"
        "print('tiktoken' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"


def test_page_options_defaults_are_crawl_options_defaults() -> None:
    assert PageOptions.of(CrawlOptions()) == PageOptions()
    custom = CrawlOptions(
        include_selectors=("main",),
        exclude_selectors=(".ad",),
        quality_threshold=20,
        token_encoding="cl100k_base",
    )
    assert PageOptions.of(custom) == PageOptions(("main",), (".ad",), 20, "cl100k_base")


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_sigkilled_crawl_leaves_no_orphans(fixture_server: FixtureServer, tmp_path: Path) -> None:
    start = serve_guide(fixture_server, {path: 0.5 for path in EXPECTED_ORDER[1:]})
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCSPASTA_")} | {
        "DOCSPASTA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'd.db'}",
        "DOCSPASTA_ALLOW_PRIVATE_HOSTS": "127.0.0.1",
        "DOCSPASTA_ANALYSIS_PROCESSES": "2",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "docspasta",
            "crawl",
            start,
            "-o",
            str(tmp_path / "o.md"),
            "-q",
            "--no-politeness",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        family: set[int] = set()
        while time.monotonic() < deadline:  # the two analysis workers
            family = descendants(process.pid)
            if len(family) >= 2 and len(fixture_server.requests) >= 2:
                break
            time.sleep(0.05)
        # The counter started early was taken by the analyzer: two workers, not three.
        assert len(family) == 2, family
        process.kill()
        process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(pid) for pid in family):
            time.sleep(0.05)
        assert not [pid for pid in family if alive(pid)]
    finally:
        if process.poll() is None:
            process.kill()
