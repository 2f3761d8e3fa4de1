"""The three tables of the seed and the state_version trigger.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from docspasta.store import triggers
from docspasta.store.schema import JSONType, PageId, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "crawling_jobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("options", JSONType, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_message", sa.Text),
        sa.Column("state_version", sa.Integer, nullable=False, server_default="1"),
        _counter("pages_discovered"),
        _counter("pages_completed"),
        _counter("pages_failed"),
        _counter("pages_skipped"),
        _counter("total_words"),
        _counter("total_tokens"),
        sa.Column("robots_txt", sa.Text),
        sa.Column("final_markdown", sa.Text),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime),
        sa.Column("completed_at", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_crawling_jobs"),
    )
    op.create_index(
        "ix_crawling_jobs_user_id_created_at", "crawling_jobs", ["user_id", "created_at"]
    )
    op.create_index("ix_crawling_jobs_status", "crawling_jobs", ["status"])

    op.create_table(
        "crawled_pages",
        sa.Column("id", PageId, nullable=False, autoincrement=True),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("url_hash", sa.String(64), nullable=False),
        sa.Column("final_url", sa.Text),
        sa.Column("final_url_hash", sa.String(64)),
        sa.Column("title", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("discovered_from", PageId),
        sa.Column("order_key", sa.Text, nullable=False),
        sa.Column("links", JSONType),
        _counter("word_count"),
        _counter("token_count"),
        _counter("attempts"),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_crawled_pages"),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["crawling_jobs.id"],
            name="fk_crawled_pages_job_id_crawling_jobs",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("job_id", "url_hash", name="uq_crawled_pages_job_id_url_hash"),
        sa.UniqueConstraint(
            "job_id", "final_url_hash", name="uq_crawled_pages_job_id_final_url_hash"
        ),
    )
    op.create_index("ix_crawled_pages_job_id_status", "crawled_pages", ["job_id", "status"])

    op.create_table(
        "page_content_chunks",
        sa.Column("id", PageId, nullable=False, autoincrement=True),
        sa.Column("page_id", PageId, nullable=False),
        sa.Column("chunk_index", sa.Integer, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("metadata", JSONType),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_page_content_chunks"),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["crawled_pages.id"],
            name="fk_page_content_chunks_page_id_crawled_pages",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "page_id", "chunk_index", name="uq_page_content_chunks_page_id_chunk_index"
        ),
    )
    for statement in triggers.create_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in triggers.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("page_content_chunks")
    op.drop_table("crawled_pages")
    op.drop_table("crawling_jobs")
