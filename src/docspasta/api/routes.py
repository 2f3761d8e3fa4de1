"""The V5 routes. Each handler validates, calls the store or the queue, and shapes a response;
SQL lives in the store."""

from __future__ import annotations

import base64
import math
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Header, Query
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent

from docspasta.api.errors import ApiError
from docspasta.api.models import (
    CrawlAccepted,
    CrawlBody,
    ErrorBody,
    FailedPage,
    JobDetail,
    JobList,
    JobState,
    PageInfo,
    job_links,
)
from docspasta.api.state import AppState, Caller, OwnedJob, State
from docspasta.core.renderings import MEDIA_TYPES, SUFFIXES
from docspasta.domain import CrawlOptions
from docspasta.runtime import render_job, validate_request
from docspasta.store import JobRecord
from docspasta.store.schema import utcnow

router = APIRouter(prefix="/api/v5", tags=["v5"])

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (400, 401, 404, 409, 422, 429)
}
#: The same errors for routes whose success is not JSON (errors stay JSON).
JSON_ERRORS: dict[int | str, dict[str, object]] = {
    code: {
        "description": "Error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for code in ERRORS
}


@router.post("/crawl", status_code=202, response_model=CrawlAccepted, responses=ERRORS)
async def start_crawl(body: CrawlBody, caller: Caller, state: State) -> CrawlAccepted:
    """Validate, create the job and queue its start: answers at once with the job id."""
    url = str(body.url)
    await _check_limits(state, caller.user_id)
    await validate_request(url, body.options, state.settings)
    job, tasks = await state.store.create_job(caller.user_id, url, body.options)
    await state.queue.publish(tasks)
    return CrawlAccepted(
        job_id=job.id, status=job.status, state_version=job.state_version, links=job_links(job.id)
    )


async def _check_limits(state: State, user_id: str) -> None:
    settings = state.settings
    if await state.store.active_job_count(user_id) >= settings.max_active_jobs_per_user:
        raise ApiError(
            429,
            "rate_limited",
            f"at most {settings.max_active_jobs_per_user} jobs may run at once",
            headers={"Retry-After": "10"},
        )
    now = utcnow()
    window = timedelta(minutes=1)
    recent = await state.store.job_creations_since(user_id, now - window)
    if len(recent) >= settings.max_jobs_per_minute:
        wait = (recent[0] + window - now).total_seconds()
        raise ApiError(
            429,
            "rate_limited",
            f"at most {settings.max_jobs_per_minute} jobs may be created per minute",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


def _cursor(job: JobRecord) -> str:
    raw = f"{job.created_at.isoformat()}|{job.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, job_id = base64.urlsafe_b64decode(padded).decode().split("|", 1)
        return datetime.fromisoformat(created), job_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(
            422, "invalid", "cursor: not a cursor from this API", field="cursor"
        ) from exc


@router.get("/jobs", response_model=JobList, responses=ERRORS)
async def list_jobs(
    caller: Caller,
    state: State,
    status: Annotated[Literal["active", "all"], Query()] = "all",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> JobList:
    """The caller's jobs, newest first."""
    before = _parse_cursor(cursor) if cursor else None
    jobs = await state.store.list_jobs(
        caller.user_id, active_only=status == "active", limit=limit + 1, before=before
    )
    page, more = jobs[:limit], len(jobs) > limit
    return JobList(
        jobs=[JobState.of(j) for j in page], next_cursor=_cursor(page[-1]) if more else None
    )


@router.get("/jobs/{job_id}", response_model=JobDetail, responses=ERRORS)
async def get_job(job: OwnedJob, state: State) -> JobDetail:
    """The job, its options and counters, its latest and failed pages, and its document."""
    size = job.markdown_bytes if job.has_document else None
    inline = None
    if size is not None and size <= state.settings.inline_markdown_bytes:
        inline = await state.store.final_markdown(job.id)
    recent = await state.store.recent_pages(job.id, limit=10)
    failed = await state.store.failed_pages(job.id)
    return JobDetail(
        **JobState.of(job).model_dump(),
        options=redacted(job.options),
        recent_pages=[PageInfo.of(p) for p in recent],
        failed_pages=[FailedPage(url=u, reason=r) for u, r in failed],
        markdown=inline,
        markdown_bytes=size,
    )


def redacted(options: CrawlOptions) -> CrawlOptions:
    """The options as a response may show them: private header and cookie values hidden."""
    return options.model_copy(
        update={
            "headers": dict.fromkeys(options.headers, REDACTED),
            "cookies": dict.fromkeys(options.cookies, REDACTED),
        }
    )


REDACTED = "<redacted>"


def _filename(job: JobRecord) -> str:
    parts = urlsplit(job.url)
    stem = f"{parts.hostname or 'docs'}{parts.path}".strip("/")
    stem = re.sub(r"\.html?$", "", stem)
    return (re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "docs") + ".md"


@router.get(
    "/jobs/{job_id}/markdown",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "The rendering; with ``maxTokens``, the index of the parts or one part.",
            "content": {"text/markdown": {}, "text/plain": {}, "application/x-ndjson": {}},
        },
        **JSON_ERRORS,
    },
)
async def get_markdown(
    job: OwnedJob,
    state: State,
    format: Annotated[Literal["markdown", "llms-txt", "llms-full", "jsonl"], Query()] = "markdown",
    max_tokens: Annotated[
        int | None,
        Query(
            alias="maxTokens",
            description="Split the markdown document into parts of at most this many tokens "
            "(the job's token encoding) and answer the index of the parts.",
        ),
    ] = None,
    part: Annotated[
        int | None,
        Query(ge=1, description="With maxTokens: answer this part of the split (1-based)."),
    ] = None,
) -> Response:
    """The document as a download; ``?format=`` gives another rendering of the same pages:
    ``llms-txt`` (an index per llmstxt.org), ``llms-full`` (full text), ``jsonl`` (one JSON
    object per page: url, title, markdown, tokens, order, fidelity).

    ``?maxTokens=N`` splits the markdown document as ``docspasta crawl --max-tokens N`` does and
    answers its index; ``&part=K`` answers part K, byte for byte the CLI's ``.part-00K.md``. The
    index is the CLI's index except that each part's link is this route's URL for that part
    (``/api/v5/jobs/{id}/markdown?maxTokens=N&part=K``) instead of a file name: a file name
    would resolve to nothing over HTTP, while a link to the URL is what a reader or an LLM
    client fetching the index can follow as it is, with no side channel to consult. The links
    are root-relative, like the job's ``links``. A part also carries ``Link`` headers
    (``rel="index"``, ``"prev"``, ``"next"``) for clients that walk the parts.

    Every request renders the split anew from the stored pages (pure: the same bytes each time).
    """
    if max_tokens is not None and format != "markdown":
        raise ApiError(
            422,
            "invalid",
            f"maxTokens: splits format=markdown only, not {format}",
            field="maxTokens",
        )
    if part is not None and max_tokens is None:
        raise ApiError(
            422, "invalid", "part: needs maxTokens (the split to take it from)", field="part"
        )
    if not job.has_document:
        message = (
            "the job has no document yet"
            if not job.status.is_terminal
            else f"the job ended {job.status.value} without a document"
        )
        raise ApiError(409, "conflict", message)
    if max_tokens is not None:
        return await _split(job, state, max_tokens, part)
    filename = _filename(job).removesuffix(".md") + SUFFIXES[format]
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "markdown":  # streamed as stored: one chunk in memory, no connection held
        headers["Content-Length"] = str(job.markdown_bytes)
        chunks = (chunk.encode() async for chunk in state.store.iter_final_markdown(job.id))
        return StreamingResponse(chunks, media_type=MEDIA_TYPES[format], headers=headers)
    rendered = await render_job(state.store, job, format)
    return Response(rendered.text, media_type=MEDIA_TYPES[format], headers=headers)


def _part_url(job_id: str, max_tokens: int, part: int) -> str:
    """The URL of one part of a job's split: what the API's index links to."""
    return f"{job_links(job_id).markdown}?maxTokens={max_tokens}&part={part}"


async def _split(job: JobRecord, state: AppState, max_tokens: int, part: int | None) -> Response:
    """The index of the job's split (its part links made API URLs), or part ``part``."""
    stem = _filename(job).removesuffix(".md")
    try:
        rendering = await render_job(state.store, job, "markdown", max_tokens=max_tokens, stem=stem)
    except ValueError as exc:  # the budget cannot hold a part: render() says why
        reason = str(exc).replace("max_tokens", "maxTokens")
        raise ApiError(422, "invalid", reason, field="maxTokens") from exc
    index, *parts = rendering.files
    media_type = rendering.media_type
    if part is None:
        links = {
            f"- [Part {k}]({file.path})": f"- [Part {k}]({_part_url(job.id, max_tokens, k)})"
            for k, file in enumerate(parts, start=1)
        }
        text = "\n".join(_relinked(line, links) for line in index.content.split("\n"))
        headers = {"Content-Disposition": f'attachment; filename="{index.path}"'}
        return Response(text, media_type=media_type, headers=headers)
    if part > len(parts):
        message = (
            f"part {part} not found: the split at maxTokens={max_tokens} has {len(parts)} parts"
        )
        raise ApiError(404, "not_found", message, field="part")
    related = [f'<{job_links(job.id).markdown}?maxTokens={max_tokens}>; rel="index"']
    if part > 1:
        related.append(f'<{_part_url(job.id, max_tokens, part - 1)}>; rel="prev"')
    if part < len(parts):
        related.append(f'<{_part_url(job.id, max_tokens, part + 1)}>; rel="next"')
    headers = {
        "Content-Disposition": f'attachment; filename="{parts[part - 1].path}"',
        "Link": ", ".join(related),
    }
    return Response(parts[part - 1].content, media_type=media_type, headers=headers)


def _relinked(line: str, links: dict[str, str]) -> str:
    """An index line with its part link (``- [Part K](file name)``) made the part's URL."""
    head, colon, rest = line.partition(":")
    new = links.get(head)
    return new + colon + rest if new is not None else line


@router.post("/jobs/{job_id}/cancel", response_model=JobState, responses=ERRORS)
async def cancel_job(job: OwnedJob, caller: Caller, state: State) -> JobState:
    """Stop the crawl: no new fetches; finished pages are kept."""
    if job.status.is_terminal:
        raise ApiError(409, "conflict", f"the job has already ended ({job.status.value})")
    cancelled = await state.store.cancel_job(job.id, caller.user_id)
    assert cancelled is not None
    return JobState.of(cancelled)


@router.delete("/jobs/{job_id}", status_code=204, responses=ERRORS)
async def delete_job(job: OwnedJob, caller: Caller, state: State) -> Response:
    """Delete a finished job and its pages."""
    if not job.status.is_terminal:
        raise ApiError(409, "conflict", "cancel the job before deleting it")
    await state.store.delete_job(job.id, caller.user_id)
    return Response(status_code=204)


@router.get(
    "/jobs/{job_id}/stream",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **JSON_ERRORS},
)
async def stream_job(
    job: OwnedJob,
    state: State,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Server-Sent Events: ``progress`` (id = state_version) whenever the job's state changes,
    then one terminal event named after the final status, then the stream closes.
    ``Last-Event-ID`` resumes."""
    seen = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    async with state.hub.subscribe(job.id) as watch:
        first = True
        while True:
            current = await watch.next_state(seen)
            if current is None:
                return
            seen = current.state_version
            data = JobState.of(current).model_dump_json(by_alias=True)
            event = current.status.value if current.status.is_terminal else "progress"
            yield ServerSentEvent(
                event=event, id=str(seen), raw_data=data, retry=2000 if first else None
            )
            first = False
            if current.status.is_terminal:
                return
