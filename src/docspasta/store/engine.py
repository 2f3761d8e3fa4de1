"""Engines for SQLite and PostgreSQL, and the migration runner.

SQLite: WAL, a busy timeout, foreign keys on; one writer engine (a single connection that begins
with ``BEGIN IMMEDIATE``, so a transaction never upgrades from read to write and fails with
SQLITE_BUSY) and a separate reader engine.

PostgreSQL: a pooled asyncpg engine that pings each connection it checks out (after a server
restart a request gets a fresh connection, not an error), and a second, unpinged one for the
page writes' group commit (``Engines.pages``): there a ping is one more round trip per write
transaction, and it made a crawl on PostgreSQL 20-25 % slower than on SQLite. A page write on a
connection the server dropped fails instead; SQLAlchemy then replaces the pool's connections,
the group commit runs each write of the failed batch again alone, and a task that still fails
is re-published by the sweeper (every write is idempotent).

Migrations are Alembic's; a database already at :data:`HEAD_REVISION` is recognised with one
query, without importing Alembic (~10 MB and ~0.1 s for every command on an existing database),
and a new SQLite database is created at head from a snapshot (:mod:`docspasta.store.snapshot`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from docspasta.errors import BackendUnavailableError, InvalidOptionError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Engines:
    """The engine that writes and the engine that reads (the same one on PostgreSQL), and the
    one for the page writes' group commit (the writer on SQLite)."""

    writer: AsyncEngine
    reader: AsyncEngine
    pages: AsyncEngine

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    async def dispose(self) -> None:
        for engine in {id(e): e for e in (self.writer, self.reader, self.pages)}.values():
            await engine.dispose()


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    engine = create_async_engine(
        url,
        poolclass=pool.AsyncAdaptedQueuePool,
        pool_size=1 if immediate else 4,
        max_overflow=0 if immediate else 4,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )
    begin_sql = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin_sql)

    return engine


def create_engines(database_url: str) -> Engines:
    """Build the engines for a database URL; an uninstalled driver gives an install hint."""
    try:
        url = make_url(database_url)
    except ArgumentError as exc:
        raise InvalidOptionError("database_url", f"not a database URL: {exc}") from exc
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.drivername != "sqlite+aiosqlite":
            url = url.set(drivername="sqlite+aiosqlite")
        rendered = url.render_as_string(hide_password=False)
        writer = _sqlite_engine(rendered, immediate=True)
        return Engines(
            writer=writer, reader=_sqlite_engine(rendered, immediate=False), pages=writer
        )
    if backend == "postgresql":
        try:
            import asyncpg  # noqa: F401
        except ImportError as exc:
            raise BackendUnavailableError("postgres", "postgres") from exc
        url = url.set(drivername="postgresql+asyncpg")
        engine = create_async_engine(url, pool_size=6, max_overflow=6, pool_pre_ping=True)
        pages = create_async_engine(url, pool_size=4, max_overflow=4)
        return Engines(writer=engine, reader=engine, pages=pages)
    raise InvalidOptionError(
        "database_url", f"unsupported database {backend!r} (sqlite, postgresql)"
    )


#: The newest migration (``store/migrations/versions``); a test checks it is Alembic's head.
HEAD_REVISION = "0008"


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("docspasta.store") / "migrations"))
    config.attributes["connection"] = connection
    return config


async def at_head(engines: Engines) -> bool:
    """Whether the database's schema is at :data:`HEAD_REVISION` (one query, no Alembic)."""
    try:
        async with engines.reader.connect() as conn:
            found = await conn.execute(text("SELECT version_num FROM alembic_version"))
            return [row[0] for row in found] == [HEAD_REVISION]
    except DBAPIError:  # no alembic_version table: a new database
        return False


async def upgrade(engines: Engines, revision: str = "head", *, use_snapshot: bool = True) -> None:
    """Apply migrations up to ``revision`` (idempotent). A new, empty SQLite database is
    created at head from :mod:`docspasta.store.snapshot` (``use_snapshot=False``: by Alembic)."""
    if revision in ("head", HEAD_REVISION):
        if await at_head(engines):
            return
        if use_snapshot and engines.dialect == "sqlite" and await _create_at_head(engines):
            return

    def run(connection: Connection) -> None:
        from alembic import command

        command.upgrade(_alembic_config(connection), revision)

    async with engines.writer.begin() as conn:
        await conn.run_sync(run)


async def _create_at_head(engines: Engines) -> bool:
    """Create the schema from the snapshot if the database is empty; whether it was."""
    from docspasta.store.snapshot import create_from_snapshot, is_empty

    def run(connection: Connection) -> bool:
        if not is_empty(connection):
            return False
        create_from_snapshot(connection)
        return True

    async with engines.writer.begin() as conn:  # BEGIN IMMEDIATE: one creator at a time
        return await conn.run_sync(run)


async def downgrade(engines: Engines, revision: str) -> None:
    def run(connection: Connection) -> None:
        from alembic import command

        command.downgrade(_alembic_config(connection), revision)

    async with engines.writer.begin() as conn:
        await conn.run_sync(run)


async def current_revision(engines: Engines) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def run(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engines.reader.connect() as conn:
        return await conn.run_sync(run)
