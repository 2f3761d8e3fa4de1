"""The MCP server as an agent meets it: ``python -m docspasta mcp`` spawned as a subprocess,
driven by the official SDK's client over stdio (and once over streamable HTTP)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import mcp_types
import pytest
from mcp import Client, StdioServerParameters

from tests.support.http import FixtureServer
from tests.support.sites import EXPECTED_ORDER, serve_guide, source_paths

TOOLS = {"crawl_docs", "map_docs", "search_docs", "get_page", "list_crawls"}


def _env(db: Path, allow: str | None) -> dict[str, str]:
    env = {"DOCSPASTA_DATABASE_URL": f"sqlite+aiosqlite:///{db}", "DOCSPASTA_POLITENESS": "false"}
    if allow is not None:
        env["DOCSPASTA_ALLOW_PRIVATE_HOSTS"] = allow
    return env


@asynccontextmanager
async def mcp_client(db: Path, allow: str | None = "127.0.0.1") -> AsyncIterator[Client]:
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "docspasta", "mcp"], env=_env(db, allow)
    )
    async with Client(server, read_timeout_seconds=30) as client:
        yield client


def _text(result: mcp_types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, mcp_types.TextContent)
    return block.text


async def test_crawl_search_read_and_cache_over_stdio(
    fixture_server: FixtureServer, tmp_path: Path
) -> None:
    start = serve_guide(fixture_server)
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with mcp_client(tmp_path / "d.db") as client:
        assert {tool.name for tool in (await client.list_tools()).tools} >= TOOLS

        first = await client.call_tool("crawl_docs", {"url": start}, progress_callback=on_progress)
        assert not first.is_error, _text(first)
        summary: dict[str, Any] = first.structured_content or {}
        assert summary["pages"] == len(EXPECTED_ORDER)
        assert summary["complete"] is True
        assert summary["reused"] is False
        assert 0 < summary["returned_tokens"] == summary["tokens"]
        document = _text(first).split("\n---\n\n", 1)[1]
        assert source_paths(document, fixture_server.base_url) == EXPECTED_ORDER
        assert progress, "no progress notification"
        assert progress[-1][0] == len(EXPECTED_ORDER)
        assert "pages" in (progress[-1][2] or "")
        assert [p[0] for p in progress] == sorted({p[0] for p in progress})

        fetched = len(fixture_server.requests)
        progress.clear()
        again = await client.call_tool("crawl_docs", {"url": start}, progress_callback=on_progress)
        assert (again.structured_content or {})["reused"] is True
        assert (again.structured_content or {})["crawl_id"] == summary["crawl_id"]
        assert "from the cache" in _text(again)
        assert len(fixture_server.requests) == fetched
        assert progress == []

        uri = summary["resource"]
        listed = await client.list_resources()
        assert uri in {resource.uri for resource in listed.resources}
        read = await client.read_resource(uri)
        content = read.contents[0]
        assert isinstance(content, mcp_types.TextResourceContents)
        assert content.text == document
        page = await client.read_resource(f"{uri}/pages/2")
        assert "def hello():" in getattr(page.contents[0], "text", "")

        found = await client.call_tool(
            "search_docs", {"crawl": summary["crawl_id"], "query": "pip install"}
        )
        hits = (found.structured_content or {})["hits"]
        assert [(h["page"], h["title"]) for h in hits] == [(3, "Installation")]

        usage = await client.call_tool("get_page", {"crawl": start, "page": 4})
        assert "| -o" in _text(usage)
        assert f"Source: {fixture_server.base_url}/docs/guide/usage.html" in _text(usage)

        mapped = await client.call_tool("map_docs", {"url": start})
        assert (mapped.structured_content or {})["taken_count"] == len(EXPECTED_ORDER)

        refused = await client.call_tool("crawl_docs", {"url": "http://10.1.2.3/docs/"})
        assert refused.is_error
        assert "refused" in _text(refused)
        unknown = await client.call_tool("get_page", {"crawl": "no-such-crawl", "page": 1})
        assert unknown.is_error
        assert "not found" in _text(unknown)


async def test_the_guard_is_the_operators_not_the_agents(
    fixture_server: FixtureServer, tmp_path: Path
) -> None:
    start = serve_guide(fixture_server)
    async with mcp_client(tmp_path / "d.db", allow=None) as client:
        for tool in ("crawl_docs", "map_docs"):
            result = await client.call_tool(tool, {"url": start})
            assert result.is_error
            assert "refused" in _text(result)
    assert fixture_server.requests == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def http_server(tmp_path: Path) -> Any:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "docspasta", "mcp", "--http", "--port", str(port)],
        env=_env(tmp_path / "d.db", "127.0.0.1") | {"PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/mcp"
    process.terminate()
    process.wait(timeout=10)
    assert process.stderr is not None
    process.stderr.close()


async def test_streamable_http(http_server: str) -> None:
    async with Client(http_server, read_timeout_seconds=30) as client:
        assert {tool.name for tool in (await client.list_tools()).tools} >= TOOLS
        listed = await client.call_tool("list_crawls", {})
        assert (listed.structured_content or {})["crawls"] == []
