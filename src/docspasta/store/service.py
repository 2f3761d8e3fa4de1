"""Queries of the service doors: listing, cancelling, deleting jobs, retention, per-user limits,
users and their API keys, persisted server secrets.

Every user-facing query takes ``user_id`` and never reads or changes another user's rows
(contract 4). API keys are stored as SHA-256 hashes of high-entropy random tokens.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from docspasta.core.renderings import RenderPage
from docspasta.domain import JobStatus, PageStatus
from docspasta.store.records import JobRecord, PageRecord
from docspasta.store.repository import _C, _J, _OPEN, _P, _TERMINAL, STREAM_ROWS
from docspasta.store.revisits import RevisitStore
from docspasta.store.schema import (
    api_keys,
    app_secrets,
    crawling_jobs,
    page_content_chunks,
    users,
    utcnow,
)

#: Statuses ``?status=active`` selects.
ACTIVE_STATUSES = (JobStatus.PENDING.value, JobStatus.RUNNING.value, JobStatus.FINALIZING.value)
KEY_PREFIX = "dp_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class UserRecord:
    id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    keys: int = 0


class Store(RevisitStore):
    """The one gateway to the database. Build with ``await Store.open(url)``."""

    # -- jobs, as users see them --------------------------------------------------------------

    async def list_jobs(
        self,
        user_id: str | None,
        *,
        active_only: bool = False,
        limit: int = 20,
        before: tuple[datetime, str] | None = None,
    ) -> list[JobRecord]:
        """Newest first; ``before`` is the (created_at, id) of the last job of the previous
        page. ``user_id=None`` lists every user's jobs (operator CLI only)."""
        query = select(crawling_jobs).order_by(_J.created_at.desc(), _J.id.desc()).limit(limit)
        if user_id is not None:
            query = query.where(_J.user_id == user_id)
        if active_only:
            query = query.where(_J.status.in_(ACTIVE_STATUSES))
        if before is not None:
            created, job_id = before
            query = query.where(
                (_J.created_at < created) | ((_J.created_at == created) & (_J.id < job_id))
            )
        async with self._read() as conn:
            return [JobRecord.from_row(r) for r in (await conn.execute(query)).mappings()]

    async def recent_pages(self, job_id: str, limit: int = 10) -> list[PageRecord]:
        """The pages processed last (completed, failed or skipped), newest first."""
        async with self._read() as conn:
            ids = (
                (
                    await conn.execute(
                        select(_P.id)
                        .where(_P.job_id == job_id, _P.status.not_in(_OPEN))
                        .order_by(_P.updated_at.desc(), _P.id.desc())
                        .limit(limit)
                    )
                )
                .scalars()
                .all()
            )
            pages = await self._pages(conn, job_id, list(ids))
        position = {page_id: i for i, page_id in enumerate(ids)}
        return sorted(pages, key=lambda p: position[p.id])

    async def cancel_job(self, job_id: str, user_id: str | None) -> JobRecord | None:
        """Stop a job that has not ended: no new fetches, finished pages kept, open pages
        skipped. Returns the job (ended or not); None when it is not the user's."""
        now = utcnow()
        async with self._write() as conn:
            query = (
                update(crawling_jobs)
                .where(_J.id == job_id, _J.status.not_in(_TERMINAL))
                .values(
                    status=JobStatus.CANCELLED.value,
                    status_message="cancelled by the user",
                    lease_owner=None,
                    lease_expires_at=None,
                    completed_at=now,
                    updated_at=now,
                )
                .returning(_J.id)
            )
            if user_id is not None:
                query = query.where(_J.user_id == user_id)
            if (await conn.execute(query)).first() is not None:
                await self._skip_open_pages(conn, job_id, "the job was cancelled")
            return await self._job(conn, job_id, user_id)

    async def delete_job(self, job_id: str, user_id: str | None) -> bool:
        """Delete a finished job with its pages and content. False if none was deleted."""
        async with self._write() as conn:
            query = delete(crawling_jobs).where(_J.id == job_id, _J.status.in_(_TERMINAL))
            if user_id is not None:
                query = query.where(_J.user_id == user_id)
            result = await conn.execute(query.returning(_J.id))
            return result.first() is not None

    async def delete_finished_before(self, cutoff: datetime) -> int:
        """Retention: delete every finished job completed before ``cutoff``."""
        async with self._write() as conn:
            result = await conn.execute(
                delete(crawling_jobs)
                .where(_J.status.in_(_TERMINAL), _J.completed_at < cutoff)
                .returning(_J.id)
            )
            return len(result.all())

    async def active_job_count(self, user_id: str) -> int:
        async with self._read() as conn:
            query = select(func.count()).where(
                _J.user_id == user_id, _J.status.in_(ACTIVE_STATUSES)
            )
            return int((await conn.execute(query)).scalar_one())

    async def job_creations_since(self, user_id: str, since: datetime) -> list[datetime]:
        """Creation times of the user's jobs since ``since``, oldest first (rate limiting)."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(_J.created_at)
                .where(_J.user_id == user_id, _J.created_at >= since)
                .order_by(_J.created_at)
            )
            return list(rows.scalars().all())

    async def render_pages(self, job_id: str, user_id: str | None = None) -> list[RenderPage]:
        """The completed pages in document order with their whole markdown, for the renderings
        (:mod:`docspasta.core.renderings`). Empty for another user's job."""
        return [page async for page in self.iter_render_pages(job_id, user_id)]

    async def iter_render_pages(
        self, job_id: str, user_id: str | None = None
    ) -> AsyncIterator[RenderPage]:
        """:meth:`render_pages` one page at a time, streamed from the database (a page's chunks
        are joined; nothing else is held)."""
        query = (
            select(_P.id, _P.url, _P.title, _P.fidelity, _C.content)
            .join(page_content_chunks, _C.page_id == _P.id)
            .where(_P.job_id == job_id, _P.status == PageStatus.COMPLETED.value)
            .order_by(_P.order_key, _P.id, _C.chunk_index)
        )
        parts: list[str] = []
        current: Any = None
        async with self._read() as conn:
            if user_id is not None and await self._job(conn, job_id, user_id) is None:
                return
            result = await conn.stream(query.execution_options(yield_per=STREAM_ROWS))
            async for row in result:
                if current is not None and current.id != row.id:
                    yield _render_page(current, parts)
                    parts = []
                current = row
                parts.append(row.content)
        if current is not None:
            yield _render_page(current, parts)

    async def iter_page_keys(self, job_id: str) -> AsyncIterator[tuple[int, str, bytes | None]]:
        """(page id, title, packed block keys) of the pages :meth:`iter_render_pages` gives,
        in the same order, without their markdown: finalize's first pass."""
        query = (
            select(_P.id, _P.url, _P.title, _P.block_keys)
            .join(page_content_chunks, (_C.page_id == _P.id) & (_C.chunk_index == 0))
            .where(_P.job_id == job_id, _P.status == PageStatus.COMPLETED.value)
            .order_by(_P.order_key, _P.id)
        )
        async with self._read() as conn:
            result = await conn.stream(query.execution_options(yield_per=STREAM_ROWS * 8))
            async for row in result:
                yield row.id, row.title or row.url, row.block_keys

    async def page_counts(self, job_id: str) -> dict[PageStatus, int]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(_P.status, func.count()).where(_P.job_id == job_id).group_by(_P.status)
            )
            return {PageStatus(status): int(n) for status, n in rows}

    # -- users and keys -----------------------------------------------------------------------

    async def create_user(self, name: str) -> tuple[UserRecord, str]:
        """A new user with one API key; the key is returned once and only its hash is kept."""
        now = utcnow()
        user_id = str(uuid.uuid4())
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        try:
            async with self._write() as conn:
                await conn.execute(insert(users).values(id=user_id, name=name, created_at=now))
                await conn.execute(
                    insert(api_keys).values(
                        id=str(uuid.uuid4()),
                        user_id=user_id,
                        key_hash=hash_key(key),
                        prefix=key[:10],
                        created_at=now,
                    )
                )
        except IntegrityError as exc:
            from docspasta.errors import InvalidOptionError

            raise InvalidOptionError("name", f"a user named {name!r} exists already") from exc
        return UserRecord(id=user_id, name=name, created_at=now, revoked_at=None, keys=1), key

    async def revoke_user(self, name: str) -> bool:
        """Revoke a user's keys (their jobs stay). False when no such active user exists."""
        now = utcnow()
        async with self._write() as conn:
            user_id = (
                await conn.execute(
                    update(users)
                    .where(users.c.name == name, users.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                    .returning(users.c.id)
                )
            ).scalar_one_or_none()
            if user_id is None:
                return False
            await conn.execute(
                update(api_keys)
                .where(api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            return True

    async def list_users(self) -> list[UserRecord]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(
                    users.c.id,
                    users.c.name,
                    users.c.created_at,
                    users.c.revoked_at,
                    func.count(api_keys.c.id),
                )
                .outerjoin(api_keys, api_keys.c.user_id == users.c.id)
                .group_by(users.c.id)
                .order_by(users.c.created_at)
            )
            return [UserRecord(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]

    async def user_for_key(self, key: str) -> str | None:
        """The user id of a valid, unrevoked API key; None otherwise."""
        async with self._read() as conn:
            return (
                await conn.execute(
                    select(api_keys.c.user_id)
                    .join(users, users.c.id == api_keys.c.user_id)
                    .where(
                        api_keys.c.key_hash == hash_key(key),
                        api_keys.c.revoked_at.is_(None),
                        users.c.revoked_at.is_(None),
                    )
                )
            ).scalar_one_or_none()

    async def has_api_keys(self) -> bool:
        async with self._read() as conn:
            query = select(func.count()).where(api_keys.c.revoked_at.is_(None))
            return int((await conn.execute(query)).scalar_one()) > 0

    async def secret(self, name: str) -> str:
        """A server secret that persists across restarts and nodes (created on first use)."""
        async with self._read() as conn:
            value = (
                await conn.execute(select(app_secrets.c.value).where(app_secrets.c.name == name))
            ).scalar_one_or_none()
        if value is not None:
            return str(value)
        candidate = secrets.token_urlsafe(48)
        try:
            async with self._write() as conn:
                await conn.execute(
                    insert(app_secrets).values(name=name, value=candidate, created_at=utcnow())
                )
        except IntegrityError:
            pass  # another node created it first: use theirs
        return await self.secret(name)


def _render_page(row: Any, parts: list[str]) -> RenderPage:
    return RenderPage(
        url=row.url, title=row.title or row.url, markdown="".join(parts), fidelity=row.fidelity
    )


__all__ = ["ACTIVE_STATUSES", "Store", "UserRecord", "hash_key"]


def retention_cutoff(days: float) -> datetime:
    return utcnow() - timedelta(days=days)
