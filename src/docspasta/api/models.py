"""Request and response bodies of the V5 API (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from docspasta.core.fidelity import Fidelity
from docspasta.domain import CrawlOptions, JobStatus, PageStatus
from docspasta.store import JobRecord, PageRecord


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class CrawlBody(ApiModel):
    """A crawl to start: the docs' start URL and the crawl options."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    url: Annotated[AnyHttpUrl, Field(description="Start URL of the docs (http or https).")]
    options: CrawlOptions = CrawlOptions()


class JobLinks(ApiModel):
    self_: str = Field(alias="self")
    stream: str
    markdown: str


class Progress(ApiModel):
    discovered: int
    completed: int
    failed: int
    skipped: int
    words: int
    tokens: int


class JobState(ApiModel):
    """A job's state: what a job listing shows and what each progress event carries."""

    id: str
    url: str
    title: str | None
    status: JobStatus
    status_message: str | None
    state_version: int
    progress: Progress
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    links: JobLinks

    @classmethod
    def of(cls, job: JobRecord) -> JobState:
        return cls(
            id=job.id,
            url=job.url,
            title=job.title,
            status=job.status,
            status_message=job.status_message,
            state_version=job.state_version,
            progress=Progress(
                discovered=job.pages_discovered,
                completed=job.pages_completed,
                failed=job.pages_failed,
                skipped=job.pages_skipped,
                words=job.total_words,
                tokens=job.total_tokens,
            ),
            created_at=job.created_at,
            updated_at=job.updated_at,
            completed_at=job.completed_at,
            links=job_links(job.id),
        )


def job_links(job_id: str) -> JobLinks:
    base = f"/api/v5/jobs/{job_id}"
    return JobLinks(self=base, stream=f"{base}/stream", markdown=f"{base}/markdown")


class PageInfo(ApiModel):
    url: str
    title: str | None
    status: PageStatus
    http_status: int | None
    error: str | None
    words: int
    tokens: int
    generator: str | None = Field(description="The docs generator detected on the page.")
    quality: int | None = Field(description="Content quality score, 0-100.")
    fidelity: dict[str, int] | None = Field(
        description="Code blocks, table rows, headings and links in the HTML vs the markdown."
    )
    fidelity_warnings: list[str] = Field(
        description="What the markdown holds less of than the page (empty: nothing lost)."
    )

    @classmethod
    def of(cls, page: PageRecord) -> PageInfo:
        return cls(
            url=page.url,
            title=page.title,
            status=page.status,
            http_status=page.http_status,
            error=page.error,
            words=page.word_count,
            tokens=page.token_count,
            generator=page.generator,
            quality=page.quality,
            fidelity=dict(page.fidelity) if page.fidelity is not None else None,
            fidelity_warnings=fidelity_losses(page),
        )


def fidelity_losses(page: PageRecord) -> list[str]:
    """What a page's markdown lost, from its stored fidelity record."""
    if not page.fidelity:
        return []
    return list(Fidelity(**page.fidelity).losses())


class FailedPage(ApiModel):
    url: str
    reason: str


class JobDetail(JobState):
    """A job with its options, its latest pages, its failures and, once done, its document."""

    options: CrawlOptions
    recent_pages: list[PageInfo]
    failed_pages: list[FailedPage]
    markdown: str | None = Field(
        description="The document, inline when it is small enough; else follow links.markdown."
    )
    markdown_bytes: int | None


class CrawlAccepted(ApiModel):
    job_id: str
    status: JobStatus
    state_version: int
    links: JobLinks


class JobList(ApiModel):
    jobs: list[JobState]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next (older) page.")


class ErrorInfo(ApiModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(ApiModel):
    """The one error body of every route."""

    error: ErrorInfo
