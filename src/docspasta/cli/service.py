"""``docspasta serve``, ``docspasta users …`` and ``docspasta jobs …`` (operator commands)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from docspasta.errors import DocspastaError, InvalidOptionError, JobNotFoundError
from docspasta.settings import Settings, ensure_sqlite_directory

# The service, the store and the worker runtime are imported by the commands that use them:
# every ``docspasta`` process imports this module, ``docspasta --help`` included.
if TYPE_CHECKING:
    from docspasta.store import Store

T = TypeVar("T")

stdout = Console()
stderr = Console(stderr=True)

users_app = typer.Typer(help="API users and their keys.", no_args_is_help=True)
jobs_app = typer.Typer(help="Every user's jobs (operator view).", no_args_is_help=True)


def _run(settings: Settings, action: Callable[[Store], Awaitable[T]]) -> T:
    async def main() -> T:
        from docspasta.store import Store

        ensure_sqlite_directory(settings.database_url)
        store = await Store.open(settings.database_url)
        try:
            return await action(store)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except DocspastaError as exc:
        code = 2 if isinstance(exc, InvalidOptionError | JobNotFoundError) else 1
        stderr.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(code) from None


def serve(
    settings: Settings,
    host: str,
    port: int,
    queue: str,
    local_workers: int | None,
) -> None:
    """Start the V5 service under uvicorn."""
    from docspasta.api.app import is_loopback
    from docspasta.api.server import build_server

    if queue not in ("local", "pgqueuer", "qstash"):
        raise InvalidOptionError(
            "--queue", f"unknown queue backend {queue!r} (local, pgqueuer, qstash)"
        )
    settings = settings.model_copy(update={"queue": queue})
    default_workers = (os.cpu_count() or 1) if queue == "local" else 0
    workers = default_workers if local_workers is None else local_workers
    if queue == "local" and workers < 1:
        raise InvalidOptionError(
            "--local-workers", "must be at least 1 with the local queue: nothing would run the jobs"
        )
    if not is_loopback(host):
        has_keys = _run(settings, lambda store: store.has_api_keys())
        if not has_keys and not settings.allow_anonymous:
            raise InvalidOptionError(
                "--host",
                f"{host} is not loopback: create an API key (docspasta users create NAME) "
                "or allow anonymous users (DOCSPASTA_ALLOW_ANONYMOUS=true)",
            )
    server = build_server(settings, host=host, port=port, local_workers=workers)
    server.run()


@users_app.command("create")
def users_create(ctx: typer.Context, name: str) -> None:
    """Create a user and print their API key (shown once; only its hash is stored)."""
    settings: Settings = ctx.obj
    user, key = _run(settings, lambda store: store.create_user(name))
    stderr.print(f"created user {user.name} ({user.id}); their API key, shown only now:")
    stdout.print(key, highlight=False, soft_wrap=True)


@users_app.command("revoke")
def users_revoke(ctx: typer.Context, name: str) -> None:
    """Revoke a user's API keys."""
    settings: Settings = ctx.obj
    if not _run(settings, lambda store: store.revoke_user(name)):
        stderr.print(f"[red]error:[/] no active user named {name!r}", highlight=False)
        raise typer.Exit(2)
    stderr.print(f"revoked {name}")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """List users."""
    settings: Settings = ctx.obj
    table = Table("name", "id", "created", "keys", "revoked")
    for user in _run(settings, lambda store: store.list_users()):
        revoked = f"{user.revoked_at:%Y-%m-%d %H:%M}" if user.revoked_at else ""
        table.add_row(
            user.name, user.id, f"{user.created_at:%Y-%m-%d %H:%M}", str(user.keys), revoked
        )
    stdout.print(table)


@jobs_app.command("list")
def jobs_list(
    ctx: typer.Context,
    active: Annotated[bool, typer.Option("--active", help="Only jobs not finished.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """List jobs of every user, newest first."""
    settings: Settings = ctx.obj
    jobs = _run(settings, lambda store: store.list_jobs(None, active_only=active, limit=limit))
    table = Table("id", "user", "status", "pages", "tokens", "created", "url")
    for job in jobs:
        table.add_row(
            job.id,
            job.user_id,
            job.status.value,
            f"{job.pages_completed}/{job.pages_discovered}",
            f"{job.total_tokens:,}",
            f"{job.created_at:%Y-%m-%d %H:%M}",
            job.url,
        )
    stdout.print(table)


@jobs_app.command("show")
def jobs_show(ctx: typer.Context, job_id: str) -> None:
    """Show one job and its failed pages."""
    settings: Settings = ctx.obj

    async def load(store: Store) -> tuple[object, list[tuple[str, str]]]:
        job = await store.get_job(job_id)
        if job is None:
            raise JobNotFoundError(job_id)
        return job, await store.failed_pages(job_id)

    job, failed = _run(settings, load)
    stdout.print(job)
    for url, reason in failed:
        stdout.print(f"failed {url}: {reason}", highlight=False, soft_wrap=True)


@jobs_app.command("cancel")
def jobs_cancel(ctx: typer.Context, job_id: str) -> None:
    """Cancel a job: no new fetches; finished pages are kept; it cannot be resumed."""
    settings: Settings = ctx.obj
    job = _run(settings, lambda store: store.cancel_job(job_id, None))
    if job is None:
        stderr.print(f"[red]error:[/] job {job_id} not found", highlight=False)
        raise typer.Exit(2)
    stderr.print(f"job {job_id}: {job.status.value}")


@jobs_app.command("delete")
def jobs_delete(ctx: typer.Context, job_id: str) -> None:
    """Delete a finished job and its pages."""
    settings: Settings = ctx.obj
    if not _run(settings, lambda store: store.delete_job(job_id, None)):
        stderr.print(f"[red]error:[/] job {job_id} not found or not finished", highlight=False)
        raise typer.Exit(2)
    stderr.print(f"deleted {job_id}")


def worker(settings: Settings, concurrency: int, grace: float) -> None:
    """Consume the shared queue until SIGTERM or Ctrl-C, then stop gracefully."""
    if settings.queue != "pgqueuer":
        raise InvalidOptionError(
            "--queue", "docspasta worker consumes a shared queue: use --queue pgqueuer"
        )

    from docspasta.runtime import run_worker

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        stderr.print(
            f"worker consuming the pgqueuer queue ({concurrency} at once); SIGTERM stops it",
            highlight=False,
        )
        await run_worker(settings, concurrency=concurrency, grace=grace, stop=stop)
        stderr.print("worker stopped", highlight=False)

    asyncio.run(main())
