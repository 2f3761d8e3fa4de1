#!/usr/bin/env python3
"""bench/chaos: a crawl on PostgreSQL + pgqueuer while its workers are killed and its database
connections cut. Loses no page, duplicates none, and writes the same bytes as a clean run.

- serves a synthetic docs site of N pages from 127.0.0.1;
- the reference: a clean single-process crawl of it (`docspasta crawl`, embedded SQLite);
- the chaos run: a fresh PostgreSQL database, the job created with its start task enqueued in
  the same transaction, 3 `docspasta worker` processes; at random moments a random worker is
  SIGKILLed and restarted (--kills), duplicate deliveries of page and finalize tasks are
  injected into the queue, bypassing its dedupe key (--duplicates), and every database
  connection of the run is cut with pg_terminate_backend (--terminations);
- checks: the job completes, every page appears exactly once, the document is byte-identical.

Prints the counts and a JSON line; exits 1 when a check fails. Bounded by --timeout.

    bench/chaos.py                                  # >= 500 pages, >= 10 kills
    bench/chaos.py --pages 150 --kills 4 --terminations 1   # the CI variant
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncpg

ADMIN_URL = os.environ.get("DOCSPASTA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
FANOUT = 4


class Site(ThreadingHTTPServer):
    daemon_threads = True
    pages = 500

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a killed worker hanging up mid-answer is part of the test


class Page(BaseHTTPRequestHandler):
    server: Site

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        match = re.fullmatch(r"/docs/(?:p(\d+)\.html)?", self.path)
        if match is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        time.sleep(0.01)
        number = int(match.group(1) or 0)
        total = self.server.pages
        nav = "".join(f"<a href='/docs/p{n}.html'>Section {n}</a>" for n in range(1, min(9, total)))
        children = "".join(
            f"<li><a href='/docs/p{n}.html'>Page {n}</a></li>"
            for n in range(number * FANOUT + 1, min(number * FANOUT + FANOUT + 1, total))
        )
        body = (
            f"<html><head><title>Page {number}</title></head><body><nav>{nav}</nav><main>"
            f"<h1>Page {number}</h1><p>Text of page {number}. {'Some prose. ' * 30}</p>"
            f"<pre><code class='language-python'>print({number})\n</code></pre><ul>{children}</ul>"
            "</main></body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(pages: int) -> tuple[Site, str]:
    Site.pages = pages
    site = Site(("127.0.0.1", 0), Page)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    return site, f"http://127.0.0.1:{site.server_address[1]}/docs/"


def environment(database_url: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DOCSPASTA_")} | {
        "DOCSPASTA_DATABASE_URL": database_url,
        "DOCSPASTA_ALLOW_PRIVATE_HOSTS": "127.0.0.1",
        "DOCSPASTA_POLITENESS": "false",
        "DOCSPASTA_ANALYSIS_PROCESSES": "0",  # each worker converts in its own process
        "DOCSPASTA_PGQUEUER_HEARTBEAT_SECONDS": "2",
        "DOCSPASTA_PAGE_LEASE_SECONDS": "4",
        "DOCSPASTA_SWEEP_INTERVAL_SECONDS": "1",
    }


def reference_document(start: str, pages: int, workdir: Path) -> bytes:
    out = workdir / "reference.md"
    env = environment(f"sqlite+aiosqlite:///{workdir / 'reference.db'}")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "docspasta",
            "crawl",
            start,
            "-o",
            str(out),
            "-q",
            "--no-politeness",
            "--max-pages",
            str(pages + 10),
            "--concurrency",
            "8",
        ],
        env=env,
        check=True,
    )
    return out.read_bytes()


def upgrade_database(env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "docspasta", "db", "upgrade"]
    subprocess.run(command, env=env, check=True, stderr=subprocess.DEVNULL)


class Workers:
    def __init__(self, count: int, env: dict[str, str]) -> None:
        self.env = env
        self.processes = [self._spawn() for _ in range(count)]
        self.kills = 0

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "docspasta", "worker", "--concurrency", "4", "--grace", "1"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill_one(self, rng: random.Random) -> None:
        index = rng.randrange(len(self.processes))
        victim = self.processes[index]
        victim.kill()
        victim.wait()
        self.kills += 1
        self.processes[index] = self._spawn()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def create_job(database_url: str, start: str, pages: int) -> str:
    from docspasta.domain import CrawlOptions
    from docspasta.queue.pgqueuer import PgQueuerQueue
    from docspasta.runtime import bind_queue
    from docspasta.settings import Settings
    from docspasta.store import Store

    settings = Settings(database_url=database_url, queue="pgqueuer")
    store = await Store.open(database_url)
    queue = PgQueuerQueue(settings, concurrency=1)
    bind_queue(store, queue)
    try:
        options = CrawlOptions(max_pages=pages + 10, politeness=False)
        job, _ = await store.create_job("chaos", start, options)
        return job.id
    finally:
        await queue.stop()
        await store.close()


async def inject_duplicates(conn: asyncpg.Connection, job_id: str, rng: random.Random) -> int:
    """Enqueue extra deliveries of existing page tasks and of finalize, with no dedupe key."""
    from docspasta.domain import Task, TaskKind

    ids = [
        r["id"] for r in await conn.fetch("SELECT id FROM crawled_pages WHERE job_id = $1", job_id)
    ]
    if not ids:
        return 0
    tasks = [
        Task(kind=TaskKind.PROCESS_PAGE, job_id=job_id, page_id=i)
        for i in rng.sample(ids, min(4, len(ids)))
    ]
    tasks.append(Task(kind=TaskKind.FINALIZE, job_id=job_id))
    for task in tasks:
        await conn.execute(
            "INSERT INTO pgqueuer (priority, entrypoint, payload, status, dedupe_key) "
            "VALUES (0, 'docspasta', $1, 'queued', NULL)",
            task.model_dump_json().encode(),
        )
    return len(tasks)


async def terminate_connections(admin: asyncpg.Connection, database: str, spare: int) -> int:
    """Cut every connection the workers hold to the run's database (not the probe's)."""
    rows = await admin.fetch(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid() AND pid <> $2",
        database,
        spare,
    )
    return len(rows)


async def chaos(args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="docspasta-chaos-"))
    site, start = serve(args.pages)
    reference = await asyncio.to_thread(reference_document, start, args.pages, workdir)
    database = f"docspasta_chaos_{uuid.uuid4().hex[:8]}"
    base = ADMIN_URL.rsplit("/", 1)[0]
    database_url = f"{base}/{database}".replace("postgresql://", "postgresql+asyncpg://", 1)
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{database}"')
    workers: Workers | None = None
    try:
        env = environment(database_url)
        await asyncio.to_thread(upgrade_database, env)
        job_id = await create_job(database_url, start, args.pages)
        started = time.monotonic()
        workers = Workers(3, env)
        probe = await asyncpg.connect(f"{base}/{database}")
        duplicates = terminated = terminations = 0
        status = "pending"
        next_kill = time.monotonic() + rng.uniform(0.3, 1.2)
        next_cut = time.monotonic() + 2.0
        while time.monotonic() - started < args.timeout:
            await asyncio.sleep(0.1)
            now = time.monotonic()
            if workers.kills < args.kills and now >= next_kill:
                workers.kill_one(rng)
                next_kill = now + rng.uniform(0.3, 1.2)
            completed = await probe.fetchval(
                "SELECT pages_completed FROM crawling_jobs WHERE id = $1", job_id
            )
            if (
                terminations < args.terminations
                and now >= next_cut
                and completed >= args.pages * (terminations + 1) // (args.terminations + 2)
            ):
                terminated += await terminate_connections(admin, database, probe.get_server_pid())
                terminations += 1
                next_cut = now + 2.0
            if duplicates < args.duplicates and rng.random() < 0.3:
                duplicates += await inject_duplicates(probe, job_id, rng)
            status = await probe.fetchval("SELECT status FROM crawling_jobs WHERE id = $1", job_id)
            if status in ("completed", "partial_success", "failed", "cancelled"):
                break
        seconds = time.monotonic() - started
        document = (
            await probe.fetchval(
                "SELECT string_agg(d.content, '' ORDER BY d.chunk_index) FROM document_chunks d "
                "JOIN crawling_jobs j ON j.id = d.job_id AND j.document_generation = d.generation "
                "WHERE j.id = $1",
                job_id,
            )
            or ""
        ).encode()
        rows = await probe.fetchval("SELECT count(*) FROM crawled_pages WHERE job_id = $1", job_id)
        await probe.close()
    finally:
        if workers is not None:
            workers.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
        site.shutdown()
    sources = re.findall(r"^Source: (\S+)$", document.decode(), re.MULTILINE)[1:]
    expected = {f"{start}p{n}.html" for n in range(1, args.pages)} | {start}
    return {
        "pages_expected": len(expected),
        "status": status,
        "seconds": round(seconds, 1),
        "kills": workers.kills if workers else 0,
        "duplicates_injected": duplicates,
        "connection_cuts": terminations,
        "connections_terminated": terminated,
        "page_rows": rows,
        "pages_in_document": len(sources),
        "pages_lost": len(expected - set(sources)),
        "pages_duplicated": len(sources) - len(set(sources)),
        "identical_to_clean_run": document == reference,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=520)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--duplicates", type=int, default=60)
    parser.add_argument("--terminations", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result = asyncio.run(chaos(args))
    for key, value in result.items():
        print(f"  {key:24} {value}")
    print(json.dumps(result))
    ok = (
        result["status"] == "completed"
        and result["pages_lost"] == 0
        and result["pages_duplicated"] == 0
        and result["identical_to_clean_run"]
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
