"""Per-page boilerplate keys (``core.boilerplate.pack_keys``), computed when the page is analysed,
so that finalize counts the crawl's boilerplate without reading every page's markdown twice.

A plain ``ALTER TABLE ADD COLUMN`` (no batch rebuild: on SQLite that would drop triggers).
Pages stored before have none; finalize computes theirs from their markdown.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("crawled_pages", sa.Column("block_keys", sa.LargeBinary))


def downgrade() -> None:
    with op.batch_alter_table("crawled_pages") as batch:
        batch.drop_column("block_keys")
