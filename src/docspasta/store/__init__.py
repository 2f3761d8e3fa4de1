"""The store: schema, migrations and every SQL statement (SQLite and PostgreSQL)."""

from docspasta.store.records import (
    JobRecord,
    NewPage,
    PageClaim,
    PageOutcome,
    PageRecord,
    ReusablePage,
)
from docspasta.store.repository import PageWrite
from docspasta.store.service import ACTIVE_STATUSES, Store, UserRecord, retention_cutoff

__all__ = [
    "ACTIVE_STATUSES",
    "JobRecord",
    "NewPage",
    "PageClaim",
    "PageOutcome",
    "PageRecord",
    "PageWrite",
    "ReusablePage",
    "Store",
    "UserRecord",
    "retention_cutoff",
]
