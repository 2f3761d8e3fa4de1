"""The three tables of the seed, as SQLAlchemy Core, for SQLite and PostgreSQL.

The state_version trigger is dialect-specific SQL; it lives in ``triggers.py`` and in the
migrations, and nowhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out; SQLite reads ``DateTime(timezone=True)`` back naive."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


JSONType: Any = JSON().with_variant(JSONB(), "postgresql")
PageId: Any = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

crawling_jobs = Table(
    "crawling_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("url", Text, nullable=False),
    Column("title", Text),
    Column("options", JSONType, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_message", Text),
    Column("state_version", Integer, nullable=False, server_default="1"),
    Column("pages_discovered", Integer, nullable=False, server_default="0"),
    Column("pages_completed", Integer, nullable=False, server_default="0"),
    Column("pages_failed", Integer, nullable=False, server_default="0"),
    Column("pages_skipped", Integer, nullable=False, server_default="0"),
    Column("total_words", Integer, nullable=False, server_default="0"),
    Column("total_tokens", Integer, nullable=False, server_default="0"),
    Column("robots_txt", Text),
    # Unused since migration 0007 (it moved documents to document_chunks); kept so that the
    # table need not be rebuilt (SQLite), which would drop its state_version trigger.
    Column("final_markdown", Text),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("completed_at", UTCDateTime),
    # The finished document: its chunks of this generation in document_chunks, its UTF-8 size.
    Column("document_generation", String(32)),
    Column("markdown_bytes", Integer),
    Index(None, "user_id", "created_at"),
    Index(None, "status"),
)

crawled_pages = Table(
    "crawled_pages",
    metadata,
    Column("id", PageId, primary_key=True, autoincrement=True),
    Column(
        "job_id",
        String(36),
        ForeignKey("crawling_jobs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("url", Text, nullable=False),
    Column("url_hash", String(64), nullable=False),
    Column("final_url", Text),
    Column("final_url_hash", String(64)),
    Column("title", Text),
    Column("status", String(16), nullable=False),
    Column("http_status", Integer),
    Column("error", Text),
    Column("depth", Integer, nullable=False),
    Column("discovered_from", PageId),
    Column("order_key", Text, nullable=False),
    Column("links", JSONType),
    Column("word_count", Integer, nullable=False, server_default="0"),
    Column("token_count", Integer, nullable=False, server_default="0"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("generator", String(32)),
    Column("quality", Integer),
    Column("fidelity", JSONType),
    Column("nav", JSONType),
    Column("etag", Text),
    Column("last_modified", Text),
    #: ``core.boilerplate.pack_keys`` of the page's markdown (None for pages stored before).
    Column("block_keys", LargeBinary),
    UniqueConstraint("job_id", "url_hash"),
    UniqueConstraint("job_id", "final_url_hash"),
    Index(None, "job_id", "status"),
    Index(None, "job_id", "updated_at"),
)

page_content_chunks = Table(
    "page_content_chunks",
    metadata,
    Column("id", PageId, primary_key=True, autoincrement=True),
    Column(
        "page_id",
        PageId,
        ForeignKey("crawled_pages.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("chunk_index", Integer, nullable=False),
    Column("content", Text, nullable=False),
    Column("content_type", String(32), nullable=False),
    Column("metadata", JSONType, key="meta"),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("page_id", "chunk_index"),
)

#: A finished job's document, in order, as finalize wrote it: written piece by piece under the
#: finalize lease (so no process ever holds the whole document twice), under a generation that
#: finish_job makes the job's own in the transaction that ends it; other generations (a
#: finalize that lost its lease) are never read and are deleted then.
document_chunks = Table(
    "document_chunks",
    metadata,
    Column(
        "job_id",
        String(36),
        ForeignKey("crawling_jobs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("generation", String(32), primary_key=True),
    Column("chunk_index", Integer, primary_key=True),
    Column("content", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

app_secrets = Table(
    "app_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
