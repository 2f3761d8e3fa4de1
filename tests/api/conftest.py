"""A real server on 127.0.0.1 (uvicorn, port 0) for the API tests, and HTTP clients for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from docspasta.api.server import Server, build_server
from docspasta.settings import Settings
from docspasta.store import Store


@dataclass
class Service:
    server: Server
    base_url: str
    settings: Settings

    def client(self, *, key: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30)


async def start_service(
    settings: Settings, *, local_workers: int = 1, port: int = 0
) -> tuple[Service, asyncio.Task[None]]:
    """A server on 127.0.0.1; ``port`` 0 lets the OS choose (a restart then moves it)."""
    server = build_server(
        settings, host="127.0.0.1", port=port, local_workers=local_workers, configure_logging=False
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(20):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
    return Service(server, f"http://127.0.0.1:{server.port}", settings), task


async def stop_service(service: Service, task: asyncio.Task[None]) -> None:
    service.server.begin_shutdown()
    async with asyncio.timeout(15):
        await task


@pytest.fixture
def service_settings(settings: Settings, database_url: str) -> Settings:
    """The test settings on each backend (SQLite file, PostgreSQL database), fast SSE polls."""
    return settings.model_copy(update={"database_url": database_url, "sse_poll_seconds": 0.2})


@pytest.fixture
async def service(service_settings: Settings) -> AsyncIterator[Service]:
    running, task = await start_service(service_settings)
    yield running
    await stop_service(running, task)


@pytest.fixture
async def keys(service_settings: Settings) -> dict[str, str]:
    """Two users with API keys (created before the server starts: no local single-user mode)."""
    store = await Store.open(service_settings.database_url)
    try:
        created = {name: (await store.create_user(name))[1] for name in ("alice", "bob")}
    finally:
        await store.close()
    return created
