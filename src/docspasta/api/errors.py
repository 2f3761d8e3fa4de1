"""One error body for every route, and the one table mapping errors to HTTP statuses.

No handler ever puts a traceback or an internal address in a response.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic.alias_generators import to_camel
from starlette.exceptions import HTTPException as StarletteHTTPException

from docspasta.api.models import ErrorBody, ErrorInfo
from docspasta.errors import (
    BlockedURLError,
    DocspastaError,
    InvalidOptionError,
    JobNotFoundError,
)

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An answer that is not a success, raised by a route or a dependency."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers


def not_found(what: str = "job") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


#: DocspastaError subclass -> (status, code). The first matching row wins.
ERROR_TABLE: list[tuple[type[DocspastaError], int, str]] = [
    (BlockedURLError, 400, "url_refused"),
    (InvalidOptionError, 422, "invalid"),
    (JobNotFoundError, 404, "not_found"),
]

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid",
    429: "rate_limited",
}


def _body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    return ErrorBody(error=ErrorInfo(code=code, message=message, field=field)).model_dump(
        by_alias=True
    )


def _field_of(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            _body(exc.code, exc.message, exc.field), exc.status, headers=exc.headers
        )

    @app.exception_handler(DocspastaError)
    async def domain_error(_: Request, exc: DocspastaError) -> JSONResponse:
        for kind, status, code in ERROR_TABLE:
            if isinstance(exc, kind):
                field = getattr(exc, "field", None)
                if isinstance(exc, InvalidOptionError) and field and field != "url":
                    field = f"options.{to_camel(field)}"
                return JSONResponse(_body(code, str(exc), field), status)
        log.exception("unmapped error")
        return JSONResponse(_body("internal", "internal error"), 500)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        field = _field_of(tuple(first.get("loc", ())))
        return JSONResponse(_body("invalid", f"{field}: {first.get('msg')}", field), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = STATUS_CODES.get(exc.status_code, "error")
        return JSONResponse(
            _body(code, str(exc.detail)), exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error: %s", type(exc).__name__, exc_info=exc)
        return JSONResponse(_body("internal", "internal error"), 500)
