"""Operator commands as a user runs them: users, jobs, and serve's refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path

from docspasta.domain import CrawlOptions, JobStatus
from docspasta.store import Store
from tests.test_cli import run_cli


def test_users_create_prints_the_key_once_and_stores_only_its_hash(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    created = run_cli("users", "create", "alice", db=db)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("dp_")
    assert key not in db.read_bytes().decode("latin-1")  # only the hash is on disk

    async def check() -> tuple[str | None, str | None]:
        store = await Store.open(f"sqlite+aiosqlite:///{db}")
        try:
            valid = await store.user_for_key(key)
            revoked_ok = run_cli("users", "revoke", "alice", db=db).returncode == 0
            assert revoked_ok
            return valid, await store.user_for_key(key)
        finally:
            await store.close()

    before, after = asyncio.run(check())
    assert before is not None
    assert after is None
    again = run_cli("users", "create", "alice", db=db)
    assert again.returncode == 2
    assert "exists already" in again.stderr
    listed = run_cli("users", "list", db=db)
    assert "alice" in listed.stdout


def test_jobs_list_cancel_delete(tmp_path: Path) -> None:
    db = tmp_path / "d.db"

    async def create() -> str:
        store = await Store.open(f"sqlite+aiosqlite:///{db}")
        try:
            job, _ = await store.create_job("someone", "https://docs.example.com/", CrawlOptions())
            return job.id
        finally:
            await store.close()

    job_id = asyncio.run(create())
    listed = run_cli("jobs", "list", db=db)
    assert job_id[:8] in listed.stdout
    assert "pending" in listed.stdout
    assert run_cli("jobs", "delete", job_id, db=db).returncode == 2  # not finished
    cancelled = run_cli("jobs", "cancel", job_id, db=db)
    assert cancelled.returncode == 0
    assert JobStatus.CANCELLED.value in cancelled.stderr
    assert run_cli("jobs", "delete", job_id, db=db).returncode == 0
    assert run_cli("jobs", "show", job_id, db=db).returncode == 2


def test_serve_refuses_configurations_that_cannot_work(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    no_workers = run_cli("serve", "--local-workers", "0", db=db)
    assert no_workers.returncode == 2
    assert "--local-workers" in no_workers.stderr
    exposed = run_cli(
        "serve", "--host", "0.0.0.0", db=db, env={"DOCSPASTA_ALLOW_ANONYMOUS": "false"}
    )
    assert exposed.returncode == 2
    assert "not loopback" in exposed.stderr
