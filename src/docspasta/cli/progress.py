"""The crawl progress bar (Rich, on stderr) and the one-line summary."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from docspasta.domain import ProgressSnapshot


class CrawlProgress:
    """Pages done / discovered, failed, elapsed and rate, fed with progress snapshots."""

    def __init__(self, console: Console, url: str, *, enabled: bool = True) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("pages"),
            TextColumn("[red]{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[rate]:.1f} pages/s"),
            console=console,
            transient=False,
            disable=not enabled,
        )
        self._task: TaskID = self._progress.add_task(
            url, total=None, failed=0, rate=0.0, start=True
        )

    def __enter__(self) -> CrawlProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def update(self, snapshot: ProgressSnapshot) -> None:
        task = self._progress.tasks[0]
        elapsed = task.elapsed or 0.0
        done = snapshot.pages_done
        self._progress.update(
            self._task,
            completed=done,
            total=max(snapshot.pages_discovered, done, 1),
            failed=snapshot.pages_failed,
            rate=done / elapsed if elapsed > 0 else 0.0,
            description=f"{snapshot.status.value}",
        )
