"""A new SQLite database is created from a snapshot of the schema at ``HEAD_REVISION``.

Migrating a new database runs Alembic: ~0.08 s to import it (with mako) and ~0.07 s to apply
every migration in turn, on every first run (a fresh ``--db``, each test database, each bench
round). ``sqlite_schema.json`` holds the statements SQLite itself recorded (``sqlite_master``)
after a real Alembic upgrade to head, tables first, then indexes, views and triggers; a new,
empty database executes them in one transaction instead. A database with anything in it still
goes through Alembic.

The snapshot is generated, never edited: ``python -m docspasta.store.snapshot`` writes it
again, and a test fails while it differs from what the migrations build (a new migration must
come with a new snapshot).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from importlib.resources import files
from pathlib import Path

from sqlalchemy import Connection, text

SNAPSHOT = "sqlite_schema.json"
_ORDER = {"table": 0, "index": 1, "view": 2, "trigger": 3}


def dump_schema(connection: Connection) -> list[str]:
    """The ``CREATE`` statements of the database's schema (SQLite's own objects left out, and
    the automatic indexes of constraints, which their tables create) and its Alembic revision,
    in an order that creates it again."""
    rows = connection.execute(
        text(
            "SELECT type, sql FROM sqlite_master "
            "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid"
        )
    ).all()
    statements = [sql for _type, sql in sorted(rows, key=lambda row: _ORDER[row[0]])]
    revisions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    statements += [
        f"INSERT INTO alembic_version (version_num) VALUES ('{revision}')" for revision in revisions
    ]
    return statements


def load_snapshot() -> list[str]:
    statements = json.loads((files("docspasta.store") / SNAPSHOT).read_text(encoding="utf-8"))
    assert isinstance(statements, list)
    return [str(statement) for statement in statements]


def is_empty(connection: Connection) -> bool:
    """Whether the database has no schema at all (a file SQLite just created)."""
    count: int = connection.execute(text("SELECT count(*) FROM sqlite_master")).scalar_one()
    return count == 0


def create_from_snapshot(connection: Connection) -> None:
    for statement in load_snapshot():
        connection.exec_driver_sql(statement)


async def migrated_schema() -> list[str]:
    """:func:`dump_schema` of a new database migrated by Alembic to head."""
    from docspasta.store.engine import create_engines, upgrade

    with tempfile.TemporaryDirectory() as directory:
        engines = create_engines(f"sqlite+aiosqlite:///{Path(directory) / 'schema.db'}")
        try:
            await upgrade(engines, use_snapshot=False)
            async with engines.reader.connect() as conn:
                return await conn.run_sync(dump_schema)
        finally:
            await engines.dispose()


def main() -> None:
    """Write the snapshot of what the migrations build (run after adding a migration)."""
    statements = asyncio.run(migrated_schema())
    target = Path(str(files("docspasta.store") / SNAPSHOT))
    target.write_text(json.dumps(statements, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(statements)} statements to {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
