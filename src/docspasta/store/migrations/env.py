"""Alembic environment: runs on a connection handed over by ``docspasta.store.engine``."""

from __future__ import annotations

from alembic import context

from docspasta.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - offline mode is not used
    raise RuntimeError("docspasta migrations run through `docspasta db upgrade` only")


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    """pgqueuer's tables (migration 0005) are declared by pgqueuer, not in our metadata."""
    return not (type_ == "table" and (name or "").startswith("pgqueuer"))


context.configure(
    connection=connection,
    target_metadata=metadata,
    include_name=_ours,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
