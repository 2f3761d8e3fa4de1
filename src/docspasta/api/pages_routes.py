"""A job's pages in document order: what the web page lists once a crawl is done."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from docspasta.api.models import ApiModel, PageInfo
from docspasta.api.routes import ERRORS
from docspasta.api.state import Caller, OwnedJob, State

router = APIRouter(prefix="/api/v5", tags=["v5"])


class PageList(ApiModel):
    pages: list[PageInfo] = Field(
        description="Every page of the job, in the document's order (failed and skipped too)."
    )


@router.get("/jobs/{job_id}/pages", response_model=PageList, responses=ERRORS)
async def list_pages(job: OwnedJob, caller: Caller, state: State) -> PageList:
    """The job's pages in document order, with their token counts and fidelity warnings."""
    pages = await state.store.pages(job.id, caller.user_id)
    return PageList(pages=[PageInfo.of(page) for page in pages])
