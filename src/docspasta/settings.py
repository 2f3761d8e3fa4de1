"""Configuration: one settings object, built by a function and passed down (never a global)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from platformdirs import user_data_path
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def default_database_url() -> str:
    """An SQLite file in the user's data directory (created on first use)."""
    directory = user_data_path("docspasta", appauthor=False)
    return f"sqlite+aiosqlite:///{directory / 'docspasta.db'}"


class Settings(BaseSettings):
    """Operator configuration, read from ``DOCSPASTA_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="DOCSPASTA_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    allow_private_hosts: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(),
        description="Hosts (literal, as written in URLs) the network guard lets through although "
        "they resolve to non-public addresses. Comma-separated. Empty by default.",
    )
    max_pages_cap: int = Field(default=10_000, ge=1, description="Hard cap on max_pages.")
    page_lease_seconds: float = Field(default=120.0, gt=0)
    finalize_lease_seconds: float = Field(default=300.0, gt=0)
    sweep_interval_seconds: float = Field(default=15.0, gt=0)
    max_page_attempts: int = Field(default=3, ge=1)
    analysis_processes: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=0,
        description="Processes that parse and convert pages (default: the cores; 0: inline).",
    )
    resolve_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Longest wait for DNS when a URL is checked at the door."
    )
    user_agent: str = "docspasta/0.1 (+https://github.com/docspasta/docspasta)"

    # -- politeness (per worker process; a crawl's --no-politeness turns it off for that job) --
    politeness: bool = Field(
        default=True,
        description="Master switch: false makes every crawl impolite (tests, owned mirrors).",
    )
    host_connections: int = Field(
        default=2, ge=1, le=64, description="Requests in flight to one host at most."
    )
    host_min_delay_seconds: float = Field(
        default=0.25, ge=0, le=60, description="Least time between two request starts to a host."
    )
    max_crawl_delay_seconds: float = Field(
        default=10.0,
        ge=0,
        le=60,
        description="robots.txt Crawl-delay is honoured up to this many seconds.",
    )
    max_retry_after_seconds: float = Field(
        default=120.0,
        ge=0,
        description="A page answered 429/503 with a longer Retry-After fails instead of waiting.",
    )
    max_sitemap_files: int = Field(
        default=20, ge=0, description="Sitemap files (nested indexes included) read per crawl."
    )
    robots_retry_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A robots.txt that answered a server error is asked again after this long "
        "(the job waits, pending: RFC 9309 disallows everything meanwhile).",
    )
    robots_max_wait_seconds: float = Field(
        default=600.0,
        ge=0,
        description="A job whose robots.txt still answers a server error this long after its "
        "creation fails with that reason.",
    )

    # -- the service ------------------------------------------------------------------------
    pgqueuer_heartbeat_seconds: float = Field(
        default=30.0,
        gt=0,
        description="pgqueuer: a task whose worker is silent this long is re-picked.",
    )
    queue: Literal["local", "pgqueuer", "qstash"] = Field(
        default="local",
        description="Queue backend: in-process (local), PostgreSQL workers (pgqueuer) or "
        "HTTP push to /api/v5/process (qstash).",
    )
    max_active_jobs_per_user: int = Field(default=5, ge=1)
    max_jobs_per_minute: int = Field(default=20, ge=1)
    inline_markdown_bytes: int = Field(
        default=1024 * 1024, ge=0, description="Largest document returned inline by GET job."
    )
    retention_days: float = Field(default=30.0, gt=0, description="Finished jobs kept this long.")
    allow_anonymous: bool = Field(
        default=True, description="Browsers without an API key get an anonymous signed cookie."
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs anonymous-user cookies; default: generated once, kept in the database.",
    )
    worker_concurrency: int = Field(
        default=8, ge=1, description="Tasks each in-process worker runs at once."
    )
    sse_poll_seconds: float = Field(default=1.0, gt=0)

    # -- the qstash queue (HTTP push to {public_url}/api/v5/process) -------------------------
    qstash_url: str = Field(
        default="https://qstash.upstash.io", description="Base URL of the QStash API."
    )
    qstash_token: str | None = Field(default=None, repr=False, description="QStash API token.")
    qstash_current_signing_key: str | None = Field(default=None, repr=False)
    qstash_next_signing_key: str | None = Field(
        default=None, repr=False, description="Also accepted while keys rotate."
    )
    qstash_retries: int = Field(
        default=3, ge=0, description="Deliveries QStash retries after a failed one."
    )
    public_url: str | None = Field(
        default=None,
        description="The exact public URL of this service as QStash calls it (scheme, host, "
        "path prefix): deliveries go to, and signatures must name, {public_url}/api/v5/process.",
    )

    @field_validator("public_url")
    @classmethod
    def _strip_public_url(cls, value: str | None) -> str | None:
        return value.strip().rstrip("/") if value else None

    @field_validator("allow_private_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(h.strip().lower() for h in value.split(",") if h.strip())
        return value


def ensure_sqlite_directory(database_url: str) -> None:
    """Create the directory of an SQLite file URL so the first run works on a fresh machine."""
    prefix = "sqlite+aiosqlite:///"
    if database_url.startswith(prefix):
        path = database_url[len(prefix) :]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
