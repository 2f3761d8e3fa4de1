"""``create_app(settings)``: the FastAPI app of the V5 service, with its in-process workers."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from docspasta import __version__
from docspasta.analysis import Analyzer
from docspasta.api.auth import Authenticator
from docspasta.api.errors import install_error_handlers
from docspasta.api.hub import StreamHub
from docspasta.api.pages_routes import router as pages_router
from docspasta.api.process_routes import router as process_router
from docspasta.api.routes import router
from docspasta.api.state import AppState, State
from docspasta.api.webpage import install_web_page
from docspasta.fetch import FetchConfig, Fetcher, FetchResult
from docspasta.metrics import Metrics
from docspasta.queue import create_queue
from docspasta.runtime import bind_queue, fetch_config
from docspasta.settings import Settings, ensure_sqlite_directory
from docspasta.store import Store, retention_cutoff
from docspasta.worker import Worker, consuming

log = logging.getLogger(__name__)

RETENTION_INTERVAL_SECONDS = 3600.0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class MeasuredFetcher(Fetcher):
    """The guarded fetcher, timing every fetch for the operator's latency histogram."""

    def __init__(self, config: FetchConfig, metrics: Metrics) -> None:
        super().__init__(config)
        self._metrics = metrics

    async def fetch(self, url: str, **options: Any) -> FetchResult:
        started = time.perf_counter()
        try:
            return await super().fetch(url, **options)
        finally:
            self._metrics.fetch_seconds.observe(time.perf_counter() - started)


async def _retention(store: Store, settings: Settings) -> None:
    while True:
        try:
            removed = await store.delete_finished_before(retention_cutoff(settings.retention_days))
            if removed:
                log.info("retention removed %d finished job(s)", removed)
        except Exception:
            log.exception("retention pass failed")
        await asyncio.sleep(RETENTION_INTERVAL_SECONDS)


def create_app(settings: Settings, *, local_workers: int, bind_host: str = "127.0.0.1") -> FastAPI:
    """The app. ``local_workers`` in-process workers run the jobs (0: another process does)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ensure_sqlite_directory(settings.database_url)
        store = await Store.open(settings.database_url)
        metrics = Metrics()
        hub = StreamHub(store, metrics, interval=settings.sse_poll_seconds)
        secret = settings.secret_key or await store.secret("anonymous-cookie")
        local_mode = is_loopback(bind_host) and not await store.has_api_keys()
        auth = Authenticator(
            store, secret, local_mode=local_mode, allow_anonymous=settings.allow_anonymous
        )
        queue = create_queue(
            settings, concurrency=max(1, local_workers) * settings.worker_concurrency
        )
        bind_queue(store, queue)
        metrics.track_queue_depth(lambda: queue.depth)
        retention = asyncio.create_task(_retention(store, settings), name="docspasta-retention")
        try:
            async with contextlib.AsyncExitStack() as stack:
                fetcher = await stack.enter_async_context(
                    MeasuredFetcher(fetch_config(settings), metrics)
                )
                runs_tasks = local_workers > 0 or settings.queue == "qstash"
                analyzer = await stack.enter_async_context(
                    Analyzer(settings.analysis_processes if runs_tasks else 0)
                )
                worker = Worker(store, fetcher, queue, settings, metrics, analyzer)
                if local_workers > 0:
                    await stack.enter_async_context(consuming(worker))
                    await worker.sweep(older_than=0.0)  # resume whatever a restart interrupted
                elif settings.queue == "qstash":  # tasks arrive over HTTP; this process sweeps
                    await stack.enter_async_context(consuming(worker))
                app.state.docspasta = AppState(settings, store, queue, hub, metrics, auth, worker)
                yield
                await hub.close()
        finally:
            retention.cancel()
            await asyncio.gather(retention, return_exceptions=True)
            await store.close()

    app = FastAPI(
        title="docspasta",
        version=__version__,
        summary="Turn documentation websites into one LLM-ready markdown document.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(pages_router)
    app.include_router(process_router)

    @app.get("/healthz", tags=["ops"])
    async def healthz(state: State) -> JSONResponse:
        """Liveness and readiness: the database answers."""
        await state.store.state_version("00000000-0000-0000-0000-000000000000")
        return JSONResponse({"status": "ok", "version": __version__})

    @app.get("/metrics", tags=["ops"], response_class=Response)
    async def metrics(state: State) -> Response:
        """Prometheus metrics for the operator (no per-user labels)."""
        return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    install_web_page(app)

    return app
