"""Per-page navigation (the site's own reading order): toc positions and the rel=next link.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from docspasta.store.schema import JSONType

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crawled_pages") as batch:
        batch.add_column(sa.Column("nav", JSONType))


def downgrade() -> None:
    with op.batch_alter_table("crawled_pages") as batch:
        batch.drop_column("nav")
