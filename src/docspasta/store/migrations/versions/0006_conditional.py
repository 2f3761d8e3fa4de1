"""Per-page ETag and Last-Modified, the validators of a re-crawl's conditional requests.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crawled_pages") as batch:
        batch.add_column(sa.Column("etag", sa.Text))
        batch.add_column(sa.Column("last_modified", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("crawled_pages") as batch:
        batch.drop_column("last_modified")
        batch.drop_column("etag")
