"""Finished documents in chunks (document_chunks), with their generation and size on the job.

The columns are added with a plain ``ALTER TABLE ADD COLUMN`` (never a batch rebuild, which
would drop crawling_jobs' state_version trigger on SQLite). Documents of existing jobs move from
``final_markdown`` to one chunk each.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: The generation of the documents this migration moves.
MIGRATED = "migrated"


def upgrade() -> None:
    op.add_column("crawling_jobs", sa.Column("document_generation", sa.String(32)))
    op.add_column("crawling_jobs", sa.Column("markdown_bytes", sa.Integer))
    op.create_table(
        "document_chunks",
        sa.Column(
            "job_id",
            sa.String(36),
            sa.ForeignKey(
                "crawling_jobs.id",
                ondelete="CASCADE",
                name="fk_document_chunks_job_id_crawling_jobs",
            ),
            nullable=False,
        ),
        sa.Column("generation", sa.String(32), nullable=False),
        sa.Column("chunk_index", sa.Integer, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("job_id", "generation", "chunk_index", name="pk_document_chunks"),
    )
    size = (
        "octet_length(final_markdown)"
        if op.get_bind().dialect.name == "postgresql"
        else "length(CAST(final_markdown AS BLOB))"
    )
    op.execute(
        "INSERT INTO document_chunks (job_id, generation, chunk_index, content) "
        f"SELECT id, '{MIGRATED}', 0, final_markdown FROM crawling_jobs "
        "WHERE final_markdown IS NOT NULL"
    )
    op.execute(
        f"UPDATE crawling_jobs SET document_generation = '{MIGRATED}', markdown_bytes = {size}, "
        "final_markdown = NULL WHERE final_markdown IS NOT NULL"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE crawling_jobs SET final_markdown = (SELECT string_agg(content, '' ORDER BY "
        "chunk_index) FROM document_chunks d WHERE d.job_id = crawling_jobs.id AND "
        "d.generation = crawling_jobs.document_generation)"
        if op.get_bind().dialect.name == "postgresql"
        else "UPDATE crawling_jobs SET final_markdown = (SELECT group_concat(content, '') FROM "
        "(SELECT content FROM document_chunks d WHERE d.job_id = crawling_jobs.id AND "
        "d.generation = crawling_jobs.document_generation ORDER BY chunk_index))"
    )
    op.drop_table("document_chunks")
    # Plain ALTER TABLE DROP COLUMN (SQLite >= 3.35): a batch rebuild would drop the trigger.
    op.drop_column("crawling_jobs", "markdown_bytes")
    op.drop_column("crawling_jobs", "document_generation")
