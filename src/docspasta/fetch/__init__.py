"""fetch: the only egress of the crawler to user-given and discovered URLs.

``Fetcher`` does guarded GETs (SSRF guard in the network backend, redirects re-checked hop by
hop, body and decompressed size capped, every phase timed out); ``check_url`` is the pre-flight
check every door runs before creating a job. ``refusal_reason`` is the address policy itself.
"""

from docspasta.fetch.client import (
    FetchConfig,
    Fetcher,
    FetchResult,
    Validators,
    check_url,
    parse_content_type,
)
from docspasta.fetch.guard import GuardedBackend, refusal_reason

__all__ = [
    "FetchConfig",
    "FetchResult",
    "Fetcher",
    "GuardedBackend",
    "Validators",
    "check_url",
    "parse_content_type",
    "refusal_reason",
]
