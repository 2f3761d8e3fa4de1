"""``docspasta mcp``: serve the MCP tools (stdio by default, streamable HTTP with ``--http``).

The server lives in ``docspasta.mcp_server``; it is imported when the command runs, so the
other commands never load the ``mcp`` SDK (an optional extra: ``pip install 'docspasta[mcp]'``).
"""

from __future__ import annotations

import logging
from typing import Annotated

import anyio
import typer
from rich.console import Console
from rich.logging import RichHandler

from docspasta.cli.discoveryflags import AllowPrivateHostFlag, VerboseFlag
from docspasta.errors import BackendUnavailableError, DocspastaError, InvalidOptionError
from docspasta.settings import Settings

stderr = Console(stderr=True)


def mcp_command(
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP at /mcp instead of stdio.")
    ] = False,
    host: Annotated[str, typer.Option(help="Loopback address to bind (--http).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind (--http).")] = 8765,
    allow_private_host: AllowPrivateHostFlag = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="DOCSPASTA_DATABASE_URL",
            help="Database URL (default: an SQLite file in your data directory).",
            show_default=False,
        ),
    ] = None,
    verbose: VerboseFlag = 0,
) -> None:
    """Serve docspasta to agents over the Model Context Protocol (logs go to stderr)."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = RichHandler(console=stderr, show_path=False, rich_tracebacks=False)
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)
    for noisy in ("aiosqlite", "sqlalchemy.engine", "httpcore2", "httpx2"):
        logging.getLogger(noisy).setLevel(max(level, logging.INFO))
    settings = Settings()
    updates: dict[str, object] = {}
    if db:
        updates["database_url"] = db
    hosts = {h.strip().lower() for h in allow_private_host or () if h.strip()}
    if hosts:
        updates["allow_private_hosts"] = settings.allow_private_hosts | hosts
    settings = settings.model_copy(update=updates)
    try:
        try:
            from docspasta.mcp_server import serve_http, serve_stdio
        except ImportError as exc:
            if (exc.name or "").split(".")[0] != "mcp":
                raise
            raise BackendUnavailableError("mcp", "mcp") from exc
        if http:
            anyio.run(serve_http, settings, host, port)
        else:
            anyio.run(serve_stdio, settings)
    except DocspastaError as exc:
        stderr.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2 if isinstance(exc, InvalidOptionError) else 1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
