"""The analysis process pool: same output as inline, survives a killed worker, leaves no
orphans when the crawl process is SIGKILLed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from docspasta.analysis import Analyzer
from docspasta.domain import CrawlOptions
from docspasta.runtime import create_job, open_store, run_job
from docspasta.settings import Settings
from tests.support.http import FixtureServer
from tests.support.sites import EXPECTED_ORDER, PAGES, page, serve_guide

OPTIONS = CrawlOptions()


async def test_pool_gives_the_same_document_as_inline(
    fixture_server: FixtureServer, settings: Settings
) -> None:
    start = serve_guide(fixture_server)
    documents = []
    async with open_store(settings) as store:
        for processes in (0, 2):
            configured = settings.model_copy(update={"analysis_processes": processes})
            job_id = await create_job(store, start, OPTIONS, configured)
            documents.append((await run_job(store, job_id, configured)).markdown)
    assert documents[0] is not None
    assert documents[0] == documents[1]


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
        while time.monotonic() < deadline:  # the two pool workers (and the resource tracker)
            family = descendants(process.pid)
            if len(family) >= 2 and len(fixture_server.requests) >= 2:
                break
            time.sleep(0.05)
        assert len(family) >= 2, family
        process.kill()
        process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(pid) for pid in family):
            time.sleep(0.05)
        assert not [pid for pid in family if alive(pid)]
    finally:
        if process.poll() is None:
            process.kill()
