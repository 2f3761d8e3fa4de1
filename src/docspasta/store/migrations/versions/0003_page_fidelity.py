"""Per-page docs generator, quality score and fidelity record.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from docspasta.store.schema import JSONType

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crawled_pages") as batch:
        batch.add_column(sa.Column("generator", sa.String(32)))
        batch.add_column(sa.Column("quality", sa.Integer))
        batch.add_column(sa.Column("fidelity", JSONType))


def downgrade() -> None:
    with op.batch_alter_table("crawled_pages") as batch:
        batch.drop_column("fidelity")
        batch.drop_column("quality")
        batch.drop_column("generator")
