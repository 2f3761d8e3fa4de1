"""Migrations build exactly the declared schema, and the state_version trigger survives them."""

from __future__ import annotations

import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, select, update

from docspasta.domain import CrawlOptions
from docspasta.store import Store
from docspasta.store.engine import (
    HEAD_REVISION,
    create_engines,
    current_revision,
    downgrade,
    upgrade,
)
from docspasta.store.schema import crawling_jobs, metadata, utcnow
from docspasta.store.snapshot import dump_schema, load_snapshot, migrated_schema


def ours(name: str | None, type_: str, parent_names: object) -> bool:
    """pgqueuer's tables are installed by migration 0005 but declared by pgqueuer, not us."""
    return not (type_ == "table" and (name or "").startswith("pgqueuer"))


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": ours}
    )
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_matches_the_declared_one(database_url: str) -> None:
    engines = create_engines(database_url)
    try:
        await upgrade(engines)
        async with engines.reader.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engines.dispose()


REVISIONS = ["0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008"]


async def _trigger_fires(engines: object, job_id: str) -> int:
    from docspasta.store.engine import Engines

    assert isinstance(engines, Engines)
    async with engines.writer.begin() as conn:
        before = (
            await conn.execute(
                select(crawling_jobs.c.state_version).where(crawling_jobs.c.id == job_id)
            )
        ).scalar_one()
        await conn.execute(
            update(crawling_jobs)
            .where(crawling_jobs.c.id == job_id)
            .values(pages_discovered=crawling_jobs.c.pages_discovered + 1)
        )
        after = (
            await conn.execute(
                select(crawling_jobs.c.state_version).where(crawling_jobs.c.id == job_id)
            )
        ).scalar_one()
    return int(after - before)


async def test_trigger_fires_after_every_migration(database_url: str) -> None:
    engines = create_engines(database_url)
    try:
        await downgrade(engines, "base")
        await upgrade(engines, REVISIONS[0])
        async with engines.writer.begin() as conn:
            await conn.execute(
                crawling_jobs.insert().values(
                    id="j",
                    user_id="u",
                    url="https://d.example/",
                    options={},
                    status="pending",
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
        for revision in REVISIONS:
            await upgrade(engines, revision)
            assert await current_revision(engines) == revision
            assert await _trigger_fires(engines, "j") == 1, revision
    finally:
        await engines.dispose()


async def test_trigger_fires_after_downgrade_and_upgrade(database_url: str) -> None:
    engines = create_engines(database_url)
    try:
        await upgrade(engines)
        await downgrade(engines, "base")
        async with engines.reader.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert "crawling_jobs" not in tables
        await upgrade(engines)
        assert await current_revision(engines) == REVISIONS[-1]
    finally:
        await engines.dispose()
    store = await Store.open(database_url)
    try:
        job, _ = await store.create_job("u", "https://d.example/", CrawlOptions())
        async with store.engines.writer.begin() as conn:
            await conn.execute(
                update(crawling_jobs).where(crawling_jobs.c.id == job.id).values(status="running")
            )
            version = (
                await conn.execute(
                    select(crawling_jobs.c.state_version).where(crawling_jobs.c.id == job.id)
                )
            ).scalar_one()
        assert version == 2
    finally:
        await store.close()


async def test_0007_moves_finished_documents_into_chunks_and_back(database_url: str) -> None:
    document = "# Docs\n\nSource: https://d.example/\n\nCafé ☕ — non-ASCII bytes count.\n"
    engines = create_engines(database_url)
    try:
        await downgrade(engines, "base")
        await upgrade(engines, "0006")
        async with engines.writer.begin() as conn:
            for job_id, markdown in (("done", document), ("failed", None)):
                await conn.execute(
                    crawling_jobs.insert().values(
                        id=job_id,
                        user_id="u",
                        url="https://d.example/",
                        options={},
                        status="completed" if markdown else "failed",
                        final_markdown=markdown,
                        created_at=utcnow(),
                        updated_at=utcnow(),
                    )
                )
        await upgrade(engines, "0007")
        assert await _trigger_fires(engines, "done") == 1
    finally:
        await engines.dispose()
    store = await Store.open(database_url)
    try:
        done, failed = await store.get_job("done"), await store.get_job("failed")
        assert done is not None
        assert failed is not None
        assert done.markdown_bytes == len(document.encode())
        assert await store.final_markdown("done") == document
        assert not failed.has_document
        assert await store.final_markdown("failed") is None
    finally:
        await store.close()
    engines = create_engines(database_url)
    try:
        await downgrade(engines, "0006")
        async with engines.reader.connect() as conn:
            back = await conn.execute(
                select(crawling_jobs.c.id, crawling_jobs.c.final_markdown).order_by(
                    crawling_jobs.c.id
                )
            )
            assert back.all() == [("done", document), ("failed", None)]
        assert await _trigger_fires(engines, "done") == 1
        await upgrade(engines)
    finally:
        await engines.dispose()


def test_head_revision_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(files("docspasta.store") / "migrations"))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD_REVISION]
    assert REVISIONS[-1] == HEAD_REVISION


def _opens_with_alembic(url: str) -> bool:
    """Whether opening the store at ``url`` in a new interpreter imported Alembic."""
    program = (
        "import asyncio, sys\n"
        "from docspasta.store import Store\n"
        "async def main():\n"
        f"    store = await Store.open({url!r})\n"
        "    await store.close()\n"
        "asyncio.run(main())\n"
        "print('alembic' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    return {"True": True, "False": False}[done.stdout.strip()]


async def test_a_database_at_head_opens_without_alembic(tmp_path: Path) -> None:
    """Alembic (~10 MB, ~0.1 s of imports) is loaded only when a migration is due."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'd.db'}"
    engines = create_engines(url)
    try:
        await upgrade(engines, "0007")
    finally:
        await engines.dispose()
    assert [_opens_with_alembic(url) for _ in range(2)] == [True, False]  # 0007 -> 0008, at head


async def test_a_new_sqlite_database_is_created_from_the_snapshot(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    assert not _opens_with_alembic(url)
    engines = create_engines(url)
    try:
        async with engines.reader.connect() as conn:
            created = await conn.run_sync(dump_schema)
        assert await current_revision(engines) == HEAD_REVISION
        await upgrade(engines)  # nothing to do, and Alembic agrees
        async with engines.reader.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engines.dispose()
    assert created == await migrated_schema()


async def test_the_sqlite_snapshot_is_what_the_migrations_build() -> None:
    assert load_snapshot() == await migrated_schema(), (
        "store/sqlite_schema.json is stale: run `python -m docspasta.store.snapshot`"
    )


async def test_a_sqlite_database_with_tables_is_migrated_not_recreated(tmp_path: Path) -> None:
    """Only an empty database is created from the snapshot: one with any schema (here an
    unrelated table) goes through Alembic, which adds ours beside it."""
    engines = create_engines(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")
    try:
        async with engines.writer.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE theirs (x INTEGER)")
        await upgrade(engines)
        async with engines.reader.connect() as conn:
            names = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert {"theirs", "crawling_jobs", "alembic_version"} <= names
        assert await current_revision(engines) == HEAD_REVISION
    finally:
        await engines.dispose()
