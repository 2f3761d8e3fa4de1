"""What one app instance holds, and the dependencies that hand it to routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request, Response

from docspasta.api.auth import Authenticator, Identity
from docspasta.api.errors import not_found
from docspasta.api.hub import StreamHub
from docspasta.metrics import Metrics
from docspasta.queue import Queue
from docspasta.settings import Settings
from docspasta.store import JobRecord, Store
from docspasta.worker import Worker


@dataclass
class AppState:
    settings: Settings
    store: Store
    queue: Queue
    hub: StreamHub
    metrics: Metrics
    auth: Authenticator
    worker: Worker
    """Runs tasks in this process: for the local queue, and for pushed ones (/api/v5/process)."""


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.docspasta
    return state


State = Annotated[AppState, Depends(app_state)]


async def identity(request: Request, response: Response, state: State) -> Identity:
    return await state.auth.identify(request, response)


Caller = Annotated[Identity, Depends(identity)]

JobId = Annotated[
    str,
    Path(
        description="The job id (a UUID).",
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    ),
]


async def owned_job(job_id: JobId, caller: Caller, state: State) -> JobRecord:
    """The caller's job; another user's job is a 404, exactly like a missing one."""
    job = await state.store.get_job(job_id, caller.user_id)
    if job is None:
        raise not_found()
    return job


OwnedJob = Annotated[JobRecord, Depends(owned_job)]
