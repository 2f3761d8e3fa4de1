"""Shared fixtures: settings with a per-test SQLite file, PostgreSQL databases cloned from a
template migrated once per run, and the fixture HTTP server."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from docspasta.settings import Settings
from docspasta.store import Store
from docspasta.store.engine import create_engines, upgrade
from tests.support.fixtures import fixture_server  # noqa: F401  (a fixture)

PG_ADMIN_URL = os.environ.get("DOCSPASTA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_url(database: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{database}"


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A database migrated once per run; each test clones it. Dropped at the end."""
    name = f"docspasta_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def create() -> None:
        await _admin(f'CREATE DATABASE "{name}"')
        engines = create_engines(_sqlalchemy_url(_pg_url(name)))
        try:
            await upgrade(engines)
        finally:
            await engines.dispose()

    asyncio.run(create())
    yield name
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def pg_url(pg_template: str) -> AsyncIterator[str]:
    name = f"docspasta_t_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield _sqlalchemy_url(_pg_url(name))
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'docspasta.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs a test once per backend: an SQLite file and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = await Store.open(database_url)
    yield store
    await store.close()


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    """Settings for crawls of the local fixture server: the guard is opened for 127.0.0.1 only."""
    return Settings(
        database_url=sqlite_url,
        allow_private_hosts=frozenset({"127.0.0.1"}),
        sweep_interval_seconds=0.5,
        analysis_processes=0,  # inline; tests/test_analysis.py covers the worker processes
        politeness=False,  # tests/test_politeness.py turns it on where it is the subject
    )
