"""The command line: ``docspasta crawl``, ``docspasta db``.

Errors a user can cause are printed as one line on stderr with a non-zero exit code:
2 for bad input (options, refused URLs), 1 for a failed job, 130 for an interrupted crawl.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler

from docspasta.cli import service
from docspasta.cli.discoveryflags import (
    AllowPrivateHostFlag,
    ConcurrencyFlag,
    CookieFlag,
    ExcludePathFlag,
    HeaderFlag,
    IncludePathFlag,
    IncludeVariantsFlag,
    MaxDepthFlag,
    MaxPagesFlag,
    NoLlmsTxtFlag,
    NoPolitenessFlag,
    NoRobotsFlag,
    NoSitemapsFlag,
    ScopeFlag,
    VerboseFlag,
    discovery_options,
)
from docspasta.cli.map import map_command
from docspasta.cli.mcp_command import mcp_command
from docspasta.cli.output import check_output, render_job, write_document, write_rendering
from docspasta.cli.progress import CrawlProgress
from docspasta.core.renderings import Format, Rendering
from docspasta.core.tokens import DEFAULT_ENCODING
from docspasta.domain import DEFAULT_MAX_PAGES, CrawlOptions, JobStatus, TokenEncoding
from docspasta.errors import DocspastaError, InvalidOptionError, JobFailedError, JobNotFoundError
from docspasta.settings import Settings

if TYPE_CHECKING:
    from docspasta.runtime import JobRun

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="docspasta",
    help="Turn a documentation website into one clean, LLM-ready markdown document.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")

stderr = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="DOCSPASTA_DATABASE_URL",
        help="Database URL (default: an SQLite file in your data directory).",
        show_default=False,
    ),
]


FormatFlag = Annotated[
    Format,
    typer.Option(
        "--format",
        "-f",
        help="markdown (one document), llms-txt (an index), llms-full, jsonl (one object per "
        "page) or dir (one .md per page + manifest.json in the -o directory).",
    ),
]
MaxTokensFlag = Annotated[
    int | None,
    typer.Option(
        "--max-tokens",
        min=64,
        help="Split the markdown document into parts of at most N tokens, written beside -o "
        "FILE, which becomes their index.",
        show_default=False,
    ),
]
TokenEncodingFlag = Annotated[
    TokenEncoding,
    typer.Option(
        "--token-encoding",
        help="tiktoken encoding of the token counts.",
    ),
]


def _settings(db: str | None, allow_private_hosts: list[str] | None = None) -> Settings:
    settings = Settings()
    updates: dict[str, object] = {}
    if db:
        updates["database_url"] = db
    if allow_private_hosts:
        hosts = {h.strip().lower() for h in allow_private_hosts if h.strip()}
        updates["allow_private_hosts"] = settings.allow_private_hosts | hosts
    return settings.model_copy(update=updates)


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = RichHandler(console=stderr, show_path=False, rich_tracebacks=False)
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)
    # Driver debug logs print SQL parameters, which may hold private headers or cookies.
    for noisy in ("aiosqlite", "asyncpg", "sqlalchemy.engine", "httpcore2", "httpx2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _options_error(exc: ValidationError) -> InvalidOptionError:
    error = exc.errors()[0]
    field = "--" + "-".join(str(part) for part in error["loc"]).replace("_", "-")
    return InvalidOptionError(field, error["msg"])


@app.command()
def crawl(
    url: Annotated[str | None, typer.Argument(help="Start URL of the docs.")] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the document here (default: stdout)."),
    ] = None,
    max_pages: MaxPagesFlag = DEFAULT_MAX_PAGES,
    max_depth: MaxDepthFlag = 20,
    concurrency: ConcurrencyFlag = 8,
    no_robots: NoRobotsFlag = False,
    no_sitemaps: NoSitemapsFlag = False,
    no_llms_txt: NoLlmsTxtFlag = False,
    scope: ScopeFlag = None,
    include_path: IncludePathFlag = None,
    exclude_path: ExcludePathFlag = None,
    include_variants: IncludeVariantsFlag = False,
    no_politeness: NoPolitenessFlag = False,
    header: HeaderFlag = None,
    cookie: CookieFlag = None,
    include_selector: Annotated[
        list[str] | None,
        typer.Option(
            "--include-selector",
            help="CSS selector of the main content, replacing the detected one (repeatable).",
        ),
    ] = None,
    exclude_selector: Annotated[
        list[str] | None,
        typer.Option("--exclude-selector", help="CSS selector of elements to drop (repeatable)."),
    ] = None,
    quality_threshold: Annotated[
        int, typer.Option(help="Leave out pages scoring below this (0-100; 0 keeps all).")
    ] = 0,
    format: FormatFlag = "markdown",
    max_tokens: MaxTokensFlag = None,
    token_encoding: TokenEncodingFlag = DEFAULT_ENCODING,
    allow_private_host: AllowPrivateHostFlag = None,
    resume: Annotated[
        str | None, typer.Option(help="Finish an interrupted crawl by its job id.")
    ] = None,
    force_refresh: Annotated[
        bool,
        typer.Option(
            "--force-refresh",
            help="Convert every page anew (by default a re-crawl asks the site which pages "
            "changed since your previous crawl of this URL and reuses the others).",
        ),
    ] = False,
    db: DbOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    verbose: VerboseFlag = 0,
) -> None:
    """Crawl a documentation site and write one markdown document."""
    _configure_logging(verbose)
    if (url is None) == (resume is None):
        _fail(InvalidOptionError("url", "give a start URL, or --resume JOB_ID (not both)"))
    try:
        options = CrawlOptions(
            max_pages=max_pages,
            max_depth=max_depth,
            concurrency=concurrency,
            respect_robots=not no_robots,
            include_selectors=tuple(include_selector or ()),
            exclude_selectors=tuple(exclude_selector or ()),
            quality_threshold=quality_threshold,
            token_encoding=token_encoding,
            force_refresh=force_refresh,
            **discovery_options(
                no_sitemaps=no_sitemaps,
                no_llms_txt=no_llms_txt,
                scope=scope,
                include_path=include_path,
                exclude_path=exclude_path,
                include_variants=include_variants,
                no_politeness=no_politeness,
                header=header,
                cookie=cookie,
            ),
        )
    except ValidationError as exc:
        _fail(_options_error(exc))
    except InvalidOptionError as exc:
        _fail(exc)
    try:
        check_output(format, max_tokens, output)
    except InvalidOptionError as exc:
        _fail(exc)
    settings = _settings(db, allow_private_host)
    started = time.monotonic()
    show_progress = not quiet and stderr.is_terminal
    job_ref: list[str] = []
    rendering: list[Rendering] = []
    try:
        run = asyncio.run(
            _crawl(
                url,
                resume,
                options,
                settings,
                job_ref,
                show_progress=show_progress,
                render_as=(format, max_tokens, output, rendering),
            )
        )
    except DocspastaError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        stderr.print("[yellow]Interrupted.[/] The crawl is saved and can be finished with:")
        command = ["docspasta", "crawl", "--resume", job_ref[0] if job_ref else "JOB_ID"]
        if output:
            command += ["-o", str(output)]
        for host in allow_private_host or []:
            command += ["--allow-private-host", host]
        if db:
            command += ["--db", db]
        stderr.print("  " + shlex.join(command), highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    _finish(run, output, time.monotonic() - started, rendering[0] if rendering else None)


async def _crawl(
    url: str | None,
    resume: str | None,
    options: CrawlOptions,
    settings: Settings,
    job_ref: list[str],
    *,
    show_progress: bool,
    render_as: tuple[Format, int | None, Path | None, list[Rendering]] | None = None,
) -> JobRun:
    from docspasta.analysis import Analyzer

    # The analysis workers are started first: they boot on the other core while this process
    # imports the store and the worker runtime and opens the database (~0.6 s on one core).
    async with Analyzer(settings.analysis_processes) as analyzer:
        # Imported here, not at the top: ``docspasta --help`` and the other commands start
        # without the store and the worker runtime.
        from docspasta.runtime import LOCAL_USER, create_job, open_store, run_job

        async with open_store(settings) as store:
            if resume is not None:
                job_id = resume
                job = await store.get_job(job_id, LOCAL_USER)
                if job is not None and job.status is JobStatus.CANCELLED:
                    reason = f"job {job_id} was cancelled and cannot be resumed; start a new crawl"
                    raise InvalidOptionError("--resume", reason)
            else:
                assert url is not None
                job_id = await create_job(store, url, options, settings)
            job_ref.append(job_id)
            with CrawlProgress(stderr, url or resume or "", enabled=show_progress) as bar:
                # Nothing drawn (quiet, or not a terminal): no need to poll for progress.
                progress = bar.update if show_progress else None
                run = await run_job(
                    store, job_id, settings, on_progress=progress, markdown=False, analyzer=analyzer
                )
            if render_as is not None and run.job.has_document:
                format, max_tokens, output, into = render_as
                if format != "markdown" or max_tokens is not None:
                    stem = output.stem if output is not None else "document"
                    into.append(await render_job(store, run.job, format, max_tokens, stem))
                else:  # the document as finalize stored it, streamed out chunk by chunk
                    await write_document(store, run.job.id, output)
            return run


def _finish(
    run: JobRun, output: Path | None, seconds: float, rendering: Rendering | None = None
) -> None:
    job = run.job
    if job.status is JobStatus.FAILED or not job.has_document:
        _fail(JobFailedError(job.id, job.status_message or job.status.value), code=EXIT_FAILED)
    if rendering is not None and output is not None:
        try:
            written = write_rendering(rendering, output)
        except InvalidOptionError as exc:
            _fail(exc)
        where = f"{output} ({len(written)} files)" if len(written) > 1 else str(output)
    elif rendering is not None:
        sys.stdout.write(rendering.text)
        sys.stdout.flush()
        where = "stdout"
    else:  # written by _crawl
        where = "stdout" if output is None else str(output)
    for page_url, reason in run.failed_pages:
        stderr.print(f"[red]failed[/] {page_url}: {reason}", highlight=False, soft_wrap=True)
    if run.fidelity_warnings:
        lost = ", ".join(f"{url} ({'/'.join(what)})" for url, what in run.fidelity_warnings[:5])
        more = len(run.fidelity_warnings) - 5
        stderr.print(
            f"[yellow]warning:[/] {len(run.fidelity_warnings)} page(s) lost content in conversion: "
            f"{lost}{f' and {more} more' if more > 0 else ''}",
            highlight=False,
            soft_wrap=True,
        )
    mark = "[green]✓[/]" if job.status is JobStatus.COMPLETED else "[yellow]![/]"
    failed = f", {job.pages_failed} failed" if job.pages_failed else ""
    stderr.print(
        f"{mark} {job.pages_completed} pages{failed}, {job.total_words:,} words, "
        f"{job.total_tokens:,} tokens → {where} in {seconds:.1f}s",
        highlight=False,
        soft_wrap=True,
    )


def _fail(exc: DocspastaError, code: int | None = None) -> typer.Exit:
    if code is None:
        bad_input = isinstance(exc, InvalidOptionError | JobNotFoundError)
        code = EXIT_BAD_INPUT if bad_input else EXIT_FAILED
    stderr.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Create or migrate the database schema to the latest revision."""
    settings = _settings(db)
    from docspasta.store.engine import create_engines, current_revision, upgrade

    async def run() -> str | None:
        engines = create_engines(settings.database_url)
        try:
            await upgrade(engines)
            return await current_revision(engines)
        finally:
            await engines.dispose()

    try:
        revision = asyncio.run(run())
    except DocspastaError as exc:
        _fail(exc)
    stderr.print(f"database at revision {revision}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="DOCSPASTA_HOST", help="Address to bind.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(envvar="DOCSPASTA_PORT", help="Port to bind.")] = 8000,
    queue: Annotated[
        str, typer.Option(envvar="DOCSPASTA_QUEUE", help="Queue backend (local).")
    ] = "local",
    local_workers: Annotated[
        int | None,
        typer.Option(
            envvar="DOCSPASTA_LOCAL_WORKERS",
            help="In-process workers (default: the number of cores).",
            show_default=False,
        ),
    ] = None,
    allow_private_host: AllowPrivateHostFlag = None,
    db: DbOption = None,
    verbose: VerboseFlag = 0,
) -> None:
    """Run the V5 API (OpenAPI at /docs) with in-process workers."""
    _configure_logging(verbose)
    settings = _settings(db, allow_private_host)
    try:
        service.serve(settings, host, port, queue, local_workers)
    except DocspastaError as exc:
        _fail(exc)


@app.command("worker")
def worker_command(
    queue: Annotated[
        str, typer.Option(envvar="DOCSPASTA_QUEUE", help="Queue backend to consume (pgqueuer).")
    ] = "pgqueuer",
    concurrency: Annotated[
        int,
        typer.Option(
            envvar="DOCSPASTA_WORKER_CONCURRENCY", min=1, max=256, help="Tasks run at once."
        ),
    ] = 8,
    grace: Annotated[
        float,
        typer.Option(help="Seconds running tasks get to finish after SIGTERM.", min=0),
    ] = 20.0,
    allow_private_host: AllowPrivateHostFlag = None,
    db: DbOption = None,
    verbose: VerboseFlag = 0,
) -> None:
    """Run tasks from the shared PostgreSQL queue (any number of these, on any machine)."""
    _configure_logging(verbose)
    settings = _settings(db, allow_private_host)
    if queue not in ("pgqueuer",):
        _fail(InvalidOptionError("--queue", "docspasta worker consumes pgqueuer"))
    try:
        service.worker(settings.model_copy(update={"queue": queue}), concurrency, grace)
    except DocspastaError as exc:
        _fail(exc)


@service.users_app.callback()
def _users(ctx: typer.Context, db: DbOption = None) -> None:
    ctx.obj = _settings(db)


@service.jobs_app.callback()
def _jobs(ctx: typer.Context, db: DbOption = None) -> None:
    ctx.obj = _settings(db)


app.add_typer(service.users_app, name="users")
app.add_typer(service.jobs_app, name="jobs")


app.command("map")(map_command)
app.command("mcp")(mcp_command)


def main() -> None:
    app()
