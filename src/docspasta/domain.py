"""Domain types shared by every part: options, statuses, the progress snapshot.

Nothing here imports anything else of docspasta except the error tree.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

#: The default number of pages a crawl takes; the configured hard cap bounds what a user may ask.
DEFAULT_MAX_PAGES = 500
#: An HTTP token (RFC 9110): what a header or cookie name may be made of.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_UNSAFE_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: Headers a user may not set: the fetcher owns them (framing, compression, routing).
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "accept-encoding",
        "cookie",
        "user-agent",
    }
)


#: Options that change which pages a crawl takes or how fast, never what a page becomes.
_FETCH_ONLY_OPTIONS = frozenset(
    {"max_pages", "max_depth", "concurrency", "politeness", "force_refresh"}
)


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


#: The tiktoken encodings token counts can use (docspasta.core.tokens builds them offline).
TokenEncoding = Literal["o200k_base", "cl100k_base"]


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
    include_selectors: Annotated[
        tuple[Annotated[str, Field(min_length=1, max_length=512)], ...],
        Field(
            max_length=32,
            description="CSS selectors of the main content: when one matches, their matches "
            "replace the detected content container.",
        ),
    ] = ()
    exclude_selectors: Annotated[
        tuple[Annotated[str, Field(min_length=1, max_length=512)], ...],
        Field(max_length=32, description="CSS selectors of elements removed from the content."),
    ] = ()
    quality_threshold: Annotated[
        int,
        Field(
            ge=0,
            le=100,
            description="Leave out pages whose quality score (0-100, prose beyond link text; "
            "150 words score 100) is below this; 0 keeps every page with text.",
        ),
    ] = 0
    token_encoding: Annotated[
        TokenEncoding,
        Field(description="tiktoken encoding of the token counts (o200k_base: GPT-4o and later)."),
    ] = "o200k_base"

    @field_validator("include_selectors", "exclude_selectors")
    @classmethod
    def _valid_selectors(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from selectolax.lexbor import LexborHTMLParser, SelectolaxError

        probe = LexborHTMLParser("<p></p>")
        for selector in value:
            try:
                probe.css(selector)
            except SelectolaxError as exc:
                raise ValueError(f"not a valid CSS selector: {selector!r}") from exc
        return value

    follow_sitemaps: Annotated[
        bool,
        Field(
            description="Seed and order the crawl from the site's sitemaps (robots.txt-listed, "
            "/sitemap.xml, nested indexes, gzip); scope filters apply to what they list."
        ),
    ] = True
    follow_llms_txt: Annotated[
        bool,
        Field(description="Use the links of the site's /llms.txt (within scope) as seeds."),
    ] = True
    scope: Annotated[
        str | None,
        Field(
            max_length=2048,
            description="Widen the crawl: pages under this URL's directory are in scope too "
            "(the start URL's directory always is).",
        ),
    ] = None
    include_paths: Annotated[
        tuple[Annotated[str, Field(min_length=1, max_length=256)], ...],
        Field(
            max_length=64,
            description="Path globs: when given, only pages whose URL path matches one are "
            "taken. '*' stays within a segment, '**' crosses segments, a trailing '/' takes "
            "the whole directory, a pattern without a leading '/' matches at any depth.",
        ),
    ] = ()
    exclude_paths: Annotated[
        tuple[Annotated[str, Field(min_length=1, max_length=256)], ...],
        Field(
            max_length=64,
            description="Path globs (as include_paths) of pages never taken; exclusion wins.",
        ),
    ] = ()
    include_variants: Annotated[
        bool,
        Field(
            description="Also take sibling versions and translations of the start URL "
            "(/v1/ next to /v2/, /fr/ next to /en/, ?lang=); by default only the start URL's."
        ),
    ] = False
    politeness: Annotated[
        bool,
        Field(
            description="Per-host connection limit, minimum delay and robots.txt Crawl-delay. "
            "Turn off only for mirrors you own."
        ),
    ] = True
    headers: Annotated[
        dict[str, str],
        Field(
            max_length=32,
            repr=False,
            description="Extra request headers (private docs), sent only to the start URL's "
            "host, never logged.",
        ),
    ] = {}
    cookies: Annotated[
        dict[str, str],
        Field(
            max_length=32,
            repr=False,
            description="Cookies (name -> value), sent only to the start URL's host, never logged.",
        ),
    ] = {}
    force_refresh: Annotated[
        bool,
        Field(
            description="Convert every page anew: no conditional requests against your "
            "previous crawl of the same start URL (by default an unchanged page, answered "
            "304 Not Modified, is taken from it)."
        ),
    ] = False

    def converts_like(self, previous: CrawlOptions) -> bool:
        """Whether a page converted under ``previous`` is what these options would make of
        the same response: every option but how much and how fast to crawl is the same."""
        ignored = set(_FETCH_ONLY_OPTIONS)
        return self.model_dump(exclude=ignored) == previous.model_dump(exclude=ignored)

    @field_validator("scope")
    @classmethod
    def _scope_is_web_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL")
        if parts.username or parts.password:
            raise ValueError("a URL with credentials is not accepted")
        return value

    @field_validator("include_paths", "exclude_paths")
    @classmethod
    def _clean_globs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(pattern.strip() for pattern in value)
        for pattern in cleaned:
            if not pattern or any(c.isspace() or c in "?#" for c in pattern):
                raise ValueError(f"{pattern!r} is not a path glob (no spaces, '?' or '#')")
        return cleaned

    @field_validator("headers")
    @classmethod
    def _safe_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, content in value.items():
            if not _TOKEN.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if name.lower() in _RESERVED_HEADERS or name.lower().startswith("proxy-"):
                raise ValueError(f"the {name} header is set by docspasta itself")
            if _UNSAFE_VALUE.search(content):
                raise ValueError(f"the value of {name} holds a control character")
        return value

    @field_validator("cookies")
    @classmethod
    def _safe_cookies(cls, value: dict[str, str]) -> dict[str, str]:
        for name, content in value.items():
            if not _TOKEN.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid cookie name")
            if _UNSAFE_VALUE.search(content) or ";" in content:
                raise ValueError(f"the value of cookie {name} holds ';' or a control character")
        return value


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
    attempt: int = 0
    """Claims of the page before this message (a retry carries its page's): not part of
    ``dedupe_key``, but lets a backend whose dedupe ids outlive delivery (qstash) let it through."""

    @property
    def dedupe_key(self) -> str:
        """Identifies the work, so a backend can refuse a duplicate while one is queued."""
        suffix = f":{self.page_id}" if self.page_id is not None else ""
        return f"{self.kind.value}:{self.job_id}{suffix}"
