"""``POST /api/v5/process``: the door QStash pushes tasks through (the ``qstash`` queue).

Not authenticated by user: a delivery is genuine when its ``Upstash-Signature`` verifies
(current or next signing key, the exact public URL, this body, not expired); anything else is a
401. The answer tells QStash what to do: 2xx when the task is done or safely ignorable (a job that
is gone or finished, a page already done or leased by a live worker: the handlers check the
database), 5xx when the handler raised, so QStash delivers it again. With another queue backend
the route answers 404, as if it did not exist.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request
from pydantic import ValidationError

from docspasta.api.errors import ApiError, not_found
from docspasta.api.models import ApiModel, ErrorBody
from docspasta.api.state import State
from docspasta.domain import Task, TaskKind
from docspasta.queue.qstash import SignatureVerifier

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v5", tags=["queue"])

#: A task message is a few dozen bytes; anything much larger is not one of ours.
MAX_BODY_BYTES = 16 * 1024

_TASK_SCHEMA: dict[str, object] = {
    "type": "object",
    "required": ["kind", "job_id"],
    "properties": {
        "kind": {"type": "string", "enum": [kind.value for kind in TaskKind]},
        "job_id": {"type": "string", "format": "uuid"},
        "page_id": {"type": ["integer", "null"]},
        "attempt": {"type": "integer", "minimum": 0},
    },
}


class Processed(ApiModel):
    """The task ran, or there was nothing left to do for it."""

    status: Literal["done"] = "done"


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, "too_large", f"a task message is at most {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, "too_large", f"a task message is at most {MAX_BODY_BYTES} bytes")
    return bytes(body)


def _task(body: bytes) -> Task:
    try:
        task = Task.model_validate_json(body)
        uuid.UUID(task.job_id)
    except (ValidationError, ValueError) as exc:
        raise ApiError(422, "invalid", "the body is not a task message", field="body") from exc
    return task


@router.post(
    "/process",
    response_model=Processed,
    responses={code: {"model": ErrorBody} for code in (401, 404, 413, 422, 500)},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _TASK_SCHEMA}},
        }
    },
)
async def process(
    request: Request,
    state: State,
    upstash_signature: Annotated[
        str | None, Header(description="QStash's HS256 JWT over this URL and body.")
    ] = None,
) -> Processed:
    """The queue webhook (qstash backend): verify the delivery, run its task once more."""
    settings = state.settings
    if settings.queue != "qstash":
        raise not_found("route")
    body = await _body(request)
    refusal = SignatureVerifier.from_settings(settings).refusal(upstash_signature, body)
    if refusal is not None:
        log.warning("refused a delivery to /api/v5/process: %s", refusal)
        raise ApiError(401, "unauthorized", "missing or invalid Upstash-Signature")
    task = _task(body)
    try:
        await state.worker.handle(task)
    except Exception:
        log.exception("task %s failed; QStash will deliver it again", task.dedupe_key)
        raise ApiError(500, "task_failed", "the task failed; deliver it again") from None
    return Processed()
