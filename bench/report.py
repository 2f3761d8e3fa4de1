"""The results table of one corpus, with every figure also given as a ratio to docspasta's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from doc_coverage import Coverage
from measure import RunResult

_MB = 1024 * 1024


@dataclass(frozen=True)
class ToolResult:
    """One tool's run on one corpus. ``note`` says what went wrong, if anything."""

    tool: str
    run: RunResult | None
    coverage: Coverage | None
    note: str = ""

    @property
    def pages_per_second(self) -> float | None:
        if self.run is None or self.coverage is None or self.run.wall_seconds <= 0:
            return None
        return self.coverage.pages / self.run.wall_seconds


def _ratio(value: float | None, reference: float | None) -> str:
    if value is None or not reference:
        return "-"
    return f"{value / reference:.2f}x"


def _row(result: ToolResult, reference: ToolResult | None) -> list[str]:
    run, coverage = result.run, result.coverage
    if run is None or coverage is None:
        return [result.tool, "-", "-", "-", "-", "-", "-", "-", "-", result.note]
    if run.timed_out:
        wall = f"timed out at {run.wall_seconds:.0f} s, {coverage.pages} pages"
    else:
        wall = f"{run.wall_seconds:.1f}"
    ref_run = reference.run if reference else None
    ref_pps = reference.pages_per_second if reference else None
    wall_ratio = _ratio(run.wall_seconds, ref_run.wall_seconds if ref_run else None)
    return [
        result.tool,
        wall,
        str(coverage.pages),
        f"{result.pages_per_second:.1f}",
        f"{run.peak_rss_bytes / _MB:.0f}",
        f"{coverage.found}/{coverage.expected} ({100 * coverage.ratio:.1f}%)",
        f">{wall_ratio}" if run.timed_out and wall_ratio != "-" else wall_ratio,
        _ratio(result.pages_per_second, ref_pps),
        _ratio(run.peak_rss_bytes, ref_run.peak_rss_bytes if ref_run else None),
        result.note,
    ]


HEADERS = [
    "tool",
    "wall s",
    "pages",
    "pages/s",
    "peak RSS MB",
    "coverage",
    "wall vs dp",
    "pages/s vs dp",
    "RSS vs dp",
    "note",
]


def render_table(title: str, results: Sequence[ToolResult]) -> str:
    """A plain-text table; ratios are against the ``docspasta`` row when there is one."""
    reference = next((r for r in results if r.tool == "docspasta" and r.run is not None), None)
    rows = [HEADERS, *(_row(result, reference) for result in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = [title]
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(width) if i in (0, 9) else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)
