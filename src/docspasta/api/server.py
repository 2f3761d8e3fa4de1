"""Run the app under uvicorn; on shutdown, open progress streams end at once."""

from __future__ import annotations

import asyncio
from types import FrameType

import uvicorn
from fastapi import FastAPI

from docspasta.api.app import create_app
from docspasta.settings import Settings


class Server(uvicorn.Server):
    """A uvicorn server that closes every SSE stream as soon as it is asked to stop."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)  # type: ignore[arg-type]

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # uvicorn's own handler first: it reads should_exit to tell a second Ctrl-C (force).
        super().handle_exit(sig, frame)
        self._close_streams()

    def begin_shutdown(self) -> None:
        """Stop as a signal would: close the streams (they would keep uvicorn waiting)."""
        self.should_exit = True
        self._close_streams()

    def _close_streams(self) -> None:
        state = getattr(self._app.state, "docspasta", None)
        if state is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(state.hub.close()))

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return int(self.servers[0].sockets[0].getsockname()[1])


def build_server(
    settings: Settings,
    *,
    host: str,
    port: int,
    local_workers: int,
    log_level: str = "info",
    configure_logging: bool = True,
) -> Server:
    app = create_app(settings, local_workers=local_workers, bind_host=host)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=5,
        proxy_headers=False,
    )
    if not configure_logging:
        config.log_config = None
    return Server(config, app)
