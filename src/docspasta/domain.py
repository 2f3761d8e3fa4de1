"""Domain types shared by every part: options, statuses, the progress snapshot.

Nothing here imports anything else of docspasta except the error tree.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

#: The default number of pages a crawl takes; the configured hard cap bounds what a user may ask.
DEFAULT_MAX_PAGES = 500


class JobStatus(StrEnum):
    """Where a crawl job is in its life. Terminal states never change again."""

    PENDING = "pending"
    """Created; the start-crawl task has not run yet."""
    RUNNING = "running"
    """Pages are being discovered and processed."""
    FINALIZING = "finalizing"
    """No page is pending or processing; one worker holds the finalize lease and assembles."""
    COMPLETED = "completed"
    """Every discovered page was processed and the document is written."""
    PARTIAL_SUCCESS = "partial_success"
    """The document is written, but some pages failed; they are listed with their reasons."""
    FAILED = "failed"
    """No document: the start page could not be fetched or nothing could be converted."""
    CANCELLED = "cancelled"
    """A user stopped the crawl; finished pages are kept."""

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_JOB_STATUSES


TERMINAL_JOB_STATUSES = frozenset(
    {JobStatus.COMPLETED, JobStatus.PARTIAL_SUCCESS, JobStatus.FAILED, JobStatus.CANCELLED}
)


class PageStatus(StrEnum):
    """Where one page of a job is."""

    PENDING = "pending"
    """Discovered and queued; any worker may claim it."""
    PROCESSING = "processing"
    """Claimed by a worker that holds a lease until ``lease_expires_at``."""
    COMPLETED = "completed"
    """Fetched and converted; its content chunks are stored."""
    FAILED = "failed"
    """Could not be fetched or converted; ``error`` says why."""
    SKIPPED = "skipped"
    """Left out on purpose (duplicate after redirect, out of scope after redirect, cancelled)."""

    @property
    def is_open(self) -> bool:
        return self in (PageStatus.PENDING, PageStatus.PROCESSING)


class CrawlOptions(BaseModel):
    """What a crawl does. One validated, immutable object, passed down whole.

    Fields are snake_case; the API takes camelCase aliases (``maxPages``); the CLI exposes them
    as kebab-case flags (``--max-pages``).
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
    )

    max_pages: Annotated[int, Field(ge=1, description="Most pages to take into the document.")] = (
        DEFAULT_MAX_PAGES
    )
    max_depth: Annotated[
        int, Field(ge=0, le=100, description="Most link hops from the start page (0: only it).")
    ] = 20
    concurrency: Annotated[
        int, Field(ge=1, le=64, description="Pages fetched and converted at the same time.")
    ] = 8
    respect_robots: Annotated[
        bool, Field(description="Obey the site's robots.txt for our user agent.")
    ] = True


class CrawlRequest(BaseModel):
    """A start URL with its options, as every door receives it."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    url: AnyHttpUrl
    options: CrawlOptions = CrawlOptions()

    @field_validator("url")
    @classmethod
    def _no_credentials(cls, value: AnyHttpUrl) -> AnyHttpUrl:
        if value.username or value.password:
            raise ValueError("a URL with credentials is not accepted")
        return value


class PageSummary(BaseModel):
    """One processed page as progress reports show it."""

    model_config = ConfigDict(frozen=True)

    url: str
    title: str | None
    status: PageStatus
    error: str | None = None
    tokens: int = 0


class ProgressSnapshot(BaseModel):
    """A job's state as progress streams and bars show it; versioned by state_version."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    url: str
    status: JobStatus
    status_message: str | None
    state_version: int
    pages_discovered: int
    pages_completed: int
    pages_failed: int
    pages_skipped: int
    total_words: int
    total_tokens: int
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None

    @property
    def pages_done(self) -> int:
        """Pages that need no more work: completed, failed or skipped."""
        return self.pages_completed + self.pages_failed + self.pages_skipped


class TaskKind(StrEnum):
    """The three task messages; every handler is idempotent under at-least-once delivery."""

    START_CRAWL = "start-crawl"
    PROCESS_PAGE = "process-page"
    FINALIZE = "finalize"


class Task(BaseModel):
    """A queue message: a hint that some work may be due. The database decides if it is."""

    model_config = ConfigDict(frozen=True)

    kind: TaskKind
    job_id: str
    page_id: int | None = None

    @property
    def dedupe_key(self) -> str:
        """Identifies the work, so a backend can refuse a duplicate while one is queued."""
        suffix = f":{self.page_id}" if self.page_id is not None else ""
        return f"{self.kind.value}:{self.job_id}{suffix}"
