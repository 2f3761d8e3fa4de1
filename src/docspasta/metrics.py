"""Operator metrics (Prometheus). One ``Metrics`` per process or app, never a module global;
no label ever carries a user or job id (contract 4)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """The counters the worker, the queue and the SSE hub update."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.pages = Counter(
            "docspasta_pages_total",
            "Pages processed, by outcome (completed, failed, skipped).",
            ["outcome"],
            registry=self.registry,
        )
        self.fetch_seconds = Histogram(
            "docspasta_fetch_seconds",
            "Time to fetch one page (connect to last byte).",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.jobs = Counter(
            "docspasta_jobs_total",
            "Jobs that reached a final state, by status.",
            ["status"],
            registry=self.registry,
        )
        self.sse_subscribers = Gauge(
            "docspasta_sse_subscribers",
            "Open progress streams.",
            registry=self.registry,
        )
        self.sse_db_queries = Counter(
            "docspasta_sse_db_queries_total",
            "Database queries issued by the progress-stream pollers.",
            registry=self.registry,
        )
        self.tasks_queued = Gauge(
            "docspasta_tasks_queued",
            "Tasks waiting in this process's queue.",
            registry=self.registry,
        )

    def track_queue_depth(self, depth: Callable[[], int]) -> None:
        self.tasks_queued.set_function(lambda: float(depth()))

    def render(self) -> bytes:
        return generate_latest(self.registry)
