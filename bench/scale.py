#!/usr/bin/env python3
"""bench/scale: pages/s of one crawl on PostgreSQL + pgqueuer with 1, 2 and 4 `docspasta worker`
processes (each converting in its own process), and tasks/s of the queue alone; with ratios.

There is no floor: on a 2-core machine the cores bound the gain. Everything runs on 127.0.0.1.

    bench/scale.py --pages 400
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chaos import ADMIN_URL, Workers, create_job, environment, serve, upgrade_database


async def fresh_database(admin: asyncpg.Connection) -> tuple[str, str, str]:
    database = f"docspasta_scale_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{database}"')
    base = ADMIN_URL.rsplit("/", 1)[0]
    plain = f"{base}/{database}"
    return database, plain, plain.replace("postgresql://", "postgresql+asyncpg://", 1)


async def crawl_with(workers: int, pages: int, start: str, admin: asyncpg.Connection) -> float:
    database, plain, url = await fresh_database(admin)
    try:
        env = environment(url)
        await asyncio.to_thread(upgrade_database, env)
        pool = Workers(workers, env)
        await asyncio.sleep(2.0)  # let the workers start before the clock does
        try:
            started = time.monotonic()
            job_id = await create_job(url, start, pages)
            probe = await asyncpg.connect(plain)
            try:
                while True:
                    status = await probe.fetchval(
                        "SELECT status FROM crawling_jobs WHERE id = $1", job_id
                    )
                    if status in ("completed", "partial_success", "failed", "cancelled"):
                        break
                    await asyncio.sleep(0.05)
                done = await probe.fetchval(
                    "SELECT pages_completed FROM crawling_jobs WHERE id = $1", job_id
                )
            finally:
                await probe.close()
            seconds = time.monotonic() - started
        finally:
            pool.stop()
        if done != pages:
            print(f"  warning: {done}/{pages} pages with {workers} worker(s)")
        return pages / seconds
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


async def queue_alone(tasks: int, admin: asyncpg.Connection) -> float:
    """pgqueuer alone: enqueue no-op tasks in one batch, then drain them with one consumer."""
    import pgqueuer
    from pgqueuer.domain.types import QueueExecutionMode

    database, plain, url = await fresh_database(admin)
    try:
        await asyncio.to_thread(upgrade_database, environment(url))
        conn = await asyncpg.connect(plain)
        try:
            queries = pgqueuer.Queries(pgqueuer.AsyncpgDriver(conn))
            await queries.enqueue(["noop"] * tasks, [None] * tasks, [0] * tasks)
            manager = pgqueuer.QueueManager(queries)

            async def noop(job: object) -> None:
                return None

            manager.entrypoint("noop")(noop)
            started = time.monotonic()
            await manager.run(
                mode=QueueExecutionMode.drain,
                batch_size=50,
                max_concurrent_tasks=100,
                dequeue_timeout=timedelta(seconds=1),
            )
            return tasks / (time.monotonic() - started)
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


async def main(pages: int, queue_tasks: int) -> None:
    site, start = serve(pages)
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        rates = {n: await crawl_with(n, pages, start, admin) for n in (1, 2, 4)}
        tasks_per_second = await queue_alone(queue_tasks, admin)
    finally:
        await admin.close()
        site.shutdown()
    print(f"bench/scale: one crawl of {pages} pages on PostgreSQL + pgqueuer")
    print("  workers  pages/s  vs 1 worker")
    for workers, rate in rates.items():
        print(f"  {workers:7d}  {rate:7.1f}  {rate / rates[1]:10.2f}x")
    print(f"  queue alone: {tasks_per_second:,.0f} no-op tasks/s ({queue_tasks} tasks, 1 consumer)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--queue-tasks", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(main(args.pages, args.queue_tasks))
