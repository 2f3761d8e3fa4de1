"""The state_version trigger (contract 2), one per dialect.

Application code never writes ``state_version``; the database bumps it whenever a column a
progress reader cares about changes. Lease bookkeeping and ``updated_at`` alone do not count.
"""

from __future__ import annotations

#: Columns whose change is a new state for progress readers.
MEANINGFUL_COLUMNS = (
    "status",
    "status_message",
    "title",
    "pages_discovered",
    "pages_completed",
    "pages_failed",
    "pages_skipped",
    "total_words",
    "total_tokens",
)

_sqlite_changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in MEANINGFUL_COLUMNS)

SQLITE_CREATE = [
    f"""
    CREATE TRIGGER crawling_jobs_state_version
    AFTER UPDATE ON crawling_jobs
    FOR EACH ROW
    WHEN NEW.state_version = OLD.state_version AND ({_sqlite_changed})
    BEGIN
        UPDATE crawling_jobs SET state_version = OLD.state_version + 1 WHERE id = NEW.id;
    END
    """,
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS crawling_jobs_state_version"]

_pg_new = ", ".join(f"NEW.{c}" for c in MEANINGFUL_COLUMNS)
_pg_old = ", ".join(f"OLD.{c}" for c in MEANINGFUL_COLUMNS)

POSTGRES_CREATE = [
    f"""
    CREATE OR REPLACE FUNCTION crawling_jobs_bump_state_version() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF ROW({_pg_new}) IS DISTINCT FROM ROW({_pg_old}) THEN
            NEW.state_version := OLD.state_version + 1;
        ELSE
            NEW.state_version := OLD.state_version;
        END IF;
        RETURN NEW;
    END;
    $$
    """,
    """
    CREATE TRIGGER crawling_jobs_state_version
    BEFORE UPDATE ON crawling_jobs
    FOR EACH ROW EXECUTE FUNCTION crawling_jobs_bump_state_version()
    """,
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS crawling_jobs_state_version ON crawling_jobs",
    "DROP FUNCTION IF EXISTS crawling_jobs_bump_state_version()",
]


def create_statements(dialect: str) -> list[str]:
    return POSTGRES_CREATE if dialect == "postgresql" else SQLITE_CREATE


def drop_statements(dialect: str) -> list[str]:
    return POSTGRES_DROP if dialect == "postgresql" else SQLITE_DROP
