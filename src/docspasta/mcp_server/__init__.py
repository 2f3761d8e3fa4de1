"""docspasta as an MCP server (``docspasta mcp``), on the official ``mcp`` Python SDK.

Over stdio (the default) stdout carries nothing but the protocol: logs go to stderr (the SDK
also points file descriptor 1 at stderr while it serves, so a stray print cannot corrupt the
stream). With ``--http`` it serves streamable HTTP on a loopback address.

Every crawl goes through the same door as the CLI's: the configured network guard
(``DOCSPASTA_ALLOW_PRIVATE_HOSTS`` / ``--allow-private-host``, never a tool argument) and the
page cap, jobs in the same database as ``docspasta crawl``.
"""

from __future__ import annotations

import ipaddress

from docspasta.errors import InvalidOptionError
from docspasta.mcp_server.docs import DocsService
from docspasta.mcp_server.server import DocspastaMCP, create_server
from docspasta.settings import Settings


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve_stdio(settings: Settings) -> None:
    """Serve MCP over this process's stdin and stdout until the client closes them."""
    async with DocsService.open(settings) as service:
        await create_server(service).run_stdio_async()


async def serve_http(settings: Settings, host: str, port: int) -> None:
    """Serve MCP over streamable HTTP at ``http://host:port/mcp``; ``host`` must be loopback
    (the MCP endpoint has no authentication of its own)."""
    if not _is_loopback(host):
        raise InvalidOptionError(
            "--host", f"{host} is not a loopback address: the MCP endpoint has no authentication"
        )
    async with DocsService.open(settings) as service:
        await create_server(service).run_streamable_http_async(host=host, port=port)


__all__ = ["DocsService", "DocspastaMCP", "create_server", "serve_http", "serve_stdio"]
