"""Values the store hands out and takes in. Plain frozen dataclasses: no database handles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from docspasta.domain import CrawlOptions, JobStatus, PageStatus, ProgressSnapshot


@dataclass(frozen=True)
class JobRecord:
    id: str
    user_id: str
    url: str
    title: str | None
    options: CrawlOptions
    status: JobStatus
    status_message: str | None
    state_version: int
    pages_discovered: int
    pages_completed: int
    pages_failed: int
    pages_skipped: int
    total_words: int
    total_tokens: int
    robots_txt: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    #: The finished document's generation in document_chunks (None: no document) and size.
    document_generation: str | None = None
    markdown_bytes: int | None = None

    @property
    def has_document(self) -> bool:
        return self.document_generation is not None

    @classmethod
    def from_row(cls, row: RowMapping) -> JobRecord:
        return cls(
            id=row["id"],
            user_id=row["user_id"],
            url=row["url"],
            title=row["title"],
            options=CrawlOptions.model_validate(row["options"]),
            status=JobStatus(row["status"]),
            status_message=row["status_message"],
            state_version=row["state_version"],
            pages_discovered=row["pages_discovered"],
            pages_completed=row["pages_completed"],
            pages_failed=row["pages_failed"],
            pages_skipped=row["pages_skipped"],
            total_words=row["total_words"],
            total_tokens=row["total_tokens"],
            robots_txt=row["robots_txt"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            started_at=row["started_at"],
            completed_at=row["completed_at"],
            document_generation=row["document_generation"],
            markdown_bytes=row["markdown_bytes"],
        )

    def snapshot(self) -> ProgressSnapshot:
        return ProgressSnapshot(
            job_id=self.id,
            url=self.url,
            status=self.status,
            status_message=self.status_message,
            state_version=self.state_version,
            pages_discovered=self.pages_discovered,
            pages_completed=self.pages_completed,
            pages_failed=self.pages_failed,
            pages_skipped=self.pages_skipped,
            total_words=self.total_words,
            total_tokens=self.total_tokens,
            created_at=self.created_at,
            updated_at=self.updated_at,
            completed_at=self.completed_at,
        )


@dataclass(frozen=True)
class NewPage:
    """A page to create: a normalised in-scope URL with its place in the link tree."""

    url: str
    url_hash: str
    depth: int
    order_key: str
    discovered_from: int | None = None


@dataclass(frozen=True)
class PageClaim:
    """A page this worker holds the lease on, with what it needs to process it."""

    id: int
    job_id: str
    url: str
    depth: int
    order_key: str
    attempts: int
    worker_id: str
    is_start_page: bool
    job_url: str
    options: CrawlOptions
    robots_txt: str | None


@dataclass(frozen=True)
class PageOutcome:
    """A processed page: everything written in the one transaction of contract 6."""

    final_url: str
    final_url_hash: str
    http_status: int
    title: str
    markdown: str
    links: tuple[str, ...]
    """In-scope, allowed, normalised links in page order (the edges used for document order)."""
    word_count: int
    token_count: int
    generator: str | None = None
    quality: int | None = None
    fidelity: Mapping[str, int] | None = None
    """Counts of code blocks, table rows, headings and links in the HTML vs the markdown."""
    nav: Mapping[str, Any] | None = None
    """The page's navigation: ``toc`` (positions in ``links``) and ``next`` (a URL or None)."""
    etag: str | None = None
    last_modified: str | None = None
    """The response's validators, sent back by the next crawl's conditional request."""
    block_keys: bytes | None = None
    """``core.boilerplate.pack_keys`` of the markdown's block keys (None: finalize computes
    them from the markdown)."""


@dataclass(frozen=True)
class PageRecord:
    id: int
    url: str
    url_hash: str
    title: str | None
    status: PageStatus
    http_status: int | None
    error: str | None
    depth: int
    order_key: str
    links: tuple[str, ...]
    word_count: int
    token_count: int
    attempts: int
    generator: str | None = None
    quality: int | None = None
    fidelity: Mapping[str, int] | None = None
    nav: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ReusablePage:
    """A completed page of an earlier crawl, with what a re-crawl needs to reuse it on a 304:
    its validators and everything its conversion produced (``markdown`` whole)."""

    job_id: str
    url: str
    final_url: str
    etag: str | None
    last_modified: str | None
    title: str
    markdown: str
    links: tuple[str, ...]
    word_count: int
    token_count: int
    generator: str | None
    quality: int | None
    fidelity: Mapping[str, int] | None
    nav: Mapping[str, Any] | None
    block_keys: bytes | None
