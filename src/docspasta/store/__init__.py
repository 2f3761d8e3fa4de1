"""The store: schema, migrations and every SQL statement (SQLite and PostgreSQL)."""

from docspasta.store.lifecycle import Store
from docspasta.store.records import JobRecord, NewPage, PageClaim, PageOutcome, PageRecord
from docspasta.store.repository import PageWrite

__all__ = ["JobRecord", "NewPage", "PageClaim", "PageOutcome", "PageRecord", "PageWrite", "Store"]
