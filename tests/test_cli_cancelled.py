"""A cancelled job stays cancelled: ``docspasta crawl --resume`` refuses it in one line."""

from __future__ import annotations

import asyncio
from pathlib import Path

from docspasta.domain import CrawlOptions, JobStatus
from docspasta.runtime import LOCAL_USER
from docspasta.store import Store
from tests.test_cli import run_cli


async def _create_job(db: Path) -> str:
    store = await Store.open(f"sqlite+aiosqlite:///{db}")
    try:
        job, _ = await store.create_job(LOCAL_USER, "http://127.0.0.1:9/docs/", CrawlOptions())
        return job.id
    finally:
        await store.close()


async def _status(db: Path, job_id: str) -> JobStatus:
    store = await Store.open(f"sqlite+aiosqlite:///{db}")
    try:
        job = await store.get_job(job_id)
        assert job is not None
        return job.status
    finally:
        await store.close()


def test_a_cancelled_job_cannot_be_resumed(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    job_id = asyncio.run(_create_job(db))
    cancelled = run_cli("jobs", "cancel", job_id, db=db)
    assert cancelled.returncode == 0, cancelled.stderr
    result = run_cli("crawl", "--resume", job_id, "--allow-private-host", "127.0.0.1", db=db)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: --resume: job {job_id} was cancelled and cannot be resumed; start a new crawl"
    ]
    assert asyncio.run(_status(db, job_id)) is JobStatus.CANCELLED
