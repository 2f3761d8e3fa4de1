"""The one exception tree of docspasta.

::

    DocspastaError
    ├── InvalidOptionError          an option or URL a user gave is not acceptable (field, reason)
    │   └── BlockedURLError         the SSRF guard refuses a URL before anything is created (rule)
    ├── FetchError                  a page could not be fetched (url, reason)
    │   ├── GuardRefusedError       the guard refused a connection or a redirect hop (rule)
    │   ├── HTTPStatusError         the server answered with a non-success status (status)
    │   ├── ContentTypeError        the body is not HTML (content_type)
    │   └── BodyTooLargeError       the body, raw or decompressed, exceeds the cap (limit)
    ├── JobNotFoundError            no such job for this user (job_id)
    ├── JobFailedError              a job ended failed; the CLI exits non-zero (job_id, reason)
    └── BackendUnavailableError     an optional backend is not installed (install hint)

Subclasses carry data; third-party exceptions are translated where the library is imported,
with ``raise ... from exc``.
"""

from __future__ import annotations


class DocspastaError(Exception):
    """Root of every error docspasta raises on purpose."""


class InvalidOptionError(DocspastaError):
    """An option or URL given by a user is not acceptable."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class BlockedURLError(InvalidOptionError):
    """The SSRF guard refuses a user-given URL before any job exists."""

    def __init__(self, url: str, rule: str, field: str = "url") -> None:
        super().__init__(field, f"{url} is refused: {rule}")
        self.url = url
        self.rule = rule


class FetchError(DocspastaError):
    """A page could not be fetched. ``retryable`` tells whether another attempt may succeed."""

    retryable: bool = False

    def __init__(self, url: str, reason: str, *, retryable: bool | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        if retryable is not None:
            self.retryable = retryable


class GuardRefusedError(FetchError):
    """The guard refused a connection (a resolved address) or a redirect hop."""

    def __init__(self, url: str, rule: str) -> None:
        super().__init__(url, f"refused by the network guard: {rule}", retryable=False)
        self.rule = rule


class HTTPStatusError(FetchError):
    """The server answered with a status that is not a success.

    ``retry_after`` is the seconds a 429/503 answer asked to wait (its Retry-After), if any.
    """

    def __init__(self, url: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(url, f"HTTP {status}", retryable=status in {429, 500, 502, 503, 504})
        self.status = status
        self.retry_after = retry_after


class ContentTypeError(FetchError):
    """The body is not an HTML document."""

    def __init__(self, url: str, content_type: str) -> None:
        super().__init__(url, f"not an HTML page (content-type {content_type or 'missing'})")
        self.content_type = content_type


class BodyTooLargeError(FetchError):
    """The body exceeds the size cap (raw or after decompression)."""

    def __init__(self, url: str, limit: int) -> None:
        super().__init__(url, f"body larger than {limit} bytes")
        self.limit = limit


class JobNotFoundError(DocspastaError):
    """No job with this id belongs to this user."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id} not found")
        self.job_id = job_id


class JobFailedError(DocspastaError):
    """A job ended in the failed state."""

    def __init__(self, job_id: str, reason: str) -> None:
        super().__init__(f"job {job_id} failed: {reason}")
        self.job_id = job_id
        self.reason = reason


class BackendUnavailableError(DocspastaError):
    """An optional backend is not installed."""

    def __init__(self, backend: str, extra: str) -> None:
        super().__init__(
            f"the {backend} backend is not installed: pip install 'docspasta[{extra}]'"
        )
        self.backend = backend
        self.extra = extra
