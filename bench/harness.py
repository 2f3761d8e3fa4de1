"""bench/crawl: docspasta against Scrapy + html-to-markdown and trafilatura, on real doc sites.

For each corpus (python3.11-doc library/, postgresql-doc-15): serve it from 127.0.0.1, run
each tool on it one after the other with the same concurrency and no delays, and print wall
seconds, pages/s, peak RSS of the process tree and coverage, with ratios to docspasta.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from corpora import CORPORA, Corpus, in_scope_pages, prepare
from doc_coverage import measure_coverage
from measure import run_measured
from peervenv import peers_python
from report import ToolResult, render_table

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
TOOLS = ("docspasta", "scrapy", "trafilatura")


@dataclass(frozen=True)
class Settings:
    """What every run of the benchmark shares."""

    concurrency: int
    max_pages: int
    timeout: float
    db: str | None
    docspasta: Path
    peers_python: Path | None


@dataclass(frozen=True)
class Site:
    """A corpus being served on 127.0.0.1:``port``."""

    corpus: Corpus
    root: Path
    port: int

    @property
    def start_url(self) -> str:
        netloc = "127.0.0.1" if self.port == 80 else f"127.0.0.1:{self.port}"
        return f"http://{netloc}{self.corpus.start_path}"


def start_server(root: Path, port: int) -> tuple[subprocess.Popen[str], int]:
    """bench/staticserver.py serving ``root`` in a child process: port ``port`` if it can bind
    it, else any free port. Returns the process and the port."""
    for candidate in dict.fromkeys((port, 0)):
        process = subprocess.Popen(
            [sys.executable, str(BENCH / "staticserver.py"), str(root), "--port", str(candidate)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if line.isdigit():
            return process, int(line)
        process.wait()
    raise RuntimeError(f"the static server for {root} did not start")


def warm_up(site: Site, pages: Sequence[str]) -> float:
    """Fetch every in-scope page once (server cache and page cache warm); the seconds it took."""
    started = time.perf_counter()
    base = site.start_url.removesuffix(site.corpus.start_path)
    for path in pages:
        with urllib.request.urlopen(base + path) as response:
            response.read()
    return time.perf_counter() - started


def docspasta_command(settings: Settings, site: Site, out: Path, workdir: Path) -> list[str]:
    """The crawl command of the brief, plus ``--no-politeness`` and ``-q`` where they exist."""
    help_text = subprocess.run(
        [str(settings.docspasta), "crawl", "--help"], capture_output=True, text=True, check=False
    ).stdout
    command = [
        str(settings.docspasta),
        "crawl",
        site.start_url,
        "--allow-private-host",
        "127.0.0.1",
        "--db",
        settings.db or f"sqlite+aiosqlite:///{workdir / 'x.db'}",
        "-o",
        str(out),
        "--concurrency",
        str(settings.concurrency),
        "--max-pages",
        str(settings.max_pages),
    ]
    command += [flag for flag in ("--no-politeness", "--quiet") if flag in help_text]
    return command


def peer_command(tool: str, settings: Settings, site: Site, out: Path) -> list[str]:
    assert settings.peers_python is not None
    script = BENCH / "peers" / f"{'scrapy_spider' if tool == 'scrapy' else 'trafilatura_crawl'}.py"
    command = [str(settings.peers_python), str(script), site.start_url, "-o", str(out)]
    command += ["--max-pages", str(settings.max_pages)]
    if tool == "scrapy":
        command += ["--concurrency", str(settings.concurrency)]
    return command


def run_tool(tool: str, settings: Settings, site: Site, workdir: Path) -> ToolResult:
    """Run one tool on one served corpus under measurement."""
    workdir.mkdir(parents=True)
    out = workdir / "out.md"
    if tool == "trafilatura" and site.port != 80:
        note = "skipped: courlan drops links to IP:port hosts; port 80 could not be bound"
        return ToolResult(tool, None, None, note)
    if tool == "docspasta":
        command = docspasta_command(settings, site, out, workdir)
    else:
        command = peer_command(tool, settings, site, out)
    (workdir / "command.txt").write_text(" ".join(command) + "\n")
    print(f"  {tool}: {' '.join(command)}", flush=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    run = run_measured(command, log_path=workdir / "log.txt", timeout=settings.timeout, env=env)
    coverage = measure_coverage(out, in_scope_pages(site.corpus, site.root))
    note = ""
    if not run.timed_out and run.returncode != 0:
        note = f"exit {run.returncode}, see {workdir / 'log.txt'}"
    status = "timed out" if run.timed_out else f"exit {run.returncode}"
    print(f"    {status} after {run.wall_seconds:.1f} s, {coverage.pages} pages", flush=True)
    return ToolResult(tool, run, coverage, note)


def bench_corpus(
    corpus: Corpus,
    tools: Sequence[str],
    settings: Settings,
    cache_dir: Path,
    run_dir: Path,
    port: int,
) -> str:
    """Serve ``corpus``, run ``tools`` on it, and return its table."""
    root = prepare(corpus, cache_dir)
    pages = sorted(in_scope_pages(corpus, root))
    server, bound = start_server(root, port)
    try:
        site = Site(corpus, root, bound)
        warm = warm_up(site, pages)
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        print(
            f"{corpus.title}: {len(pages)} pages, warm-up fetch {warm:.1f} s, load average {load}",
            flush=True,
        )
        results = [run_tool(tool, settings, site, run_dir / corpus.name / tool) for tool in tools]
    finally:
        server.terminate()
        server.wait()
    title = (
        f"{corpus.title} — {len(pages)} in-scope pages, start {site.start_url}, "
        f"concurrency {settings.concurrency}, time cap {settings.timeout:.0f} s"
    )
    return render_table(title, results)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/crawl", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--corpus", choices=[*CORPORA, "all"], default="all")
    parser.add_argument(
        "--only", choices=TOOLS, action="append", help="run only this tool (repeatable)"
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-pages", type=int, default=5000)
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds a tool may run (default 300)"
    )
    parser.add_argument("--db", help="database URL for docspasta (default: SQLite in a temp dir)")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(
            os.environ.get("DOCSPASTA_BENCH_CACHE", Path.home() / ".cache" / "docspasta-bench")
        ),
        help="corpora, peers venv and run outputs (env DOCSPASTA_BENCH_CACHE)",
    )
    parser.add_argument(
        "--docspasta",
        type=Path,
        default=REPO / ".venv" / "bin" / "docspasta",
        help="the docspasta executable (default: the repo's .venv)",
    )
    parser.add_argument("--port", type=int, default=80, help="port to serve on (default 80)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    tools = [tool for tool in TOOLS if tool in (args.only or TOOLS)]
    corpora = list(CORPORA.values()) if args.corpus == "all" else [CORPORA[args.corpus]]
    cache_dir: Path = args.cache_dir.expanduser().resolve()
    docspasta = args.docspasta if args.docspasta.exists() else shutil.which("docspasta")
    if docspasta is None:
        sys.exit(f"no docspasta executable at {args.docspasta} nor on PATH")
    needs_peers = any(tool != "docspasta" for tool in tools)
    settings = Settings(
        concurrency=args.concurrency,
        max_pages=args.max_pages,
        timeout=args.timeout,
        db=args.db,
        docspasta=Path(docspasta),
        peers_python=peers_python(cache_dir) if needs_peers else None,
    )
    run_dir = cache_dir / "runs" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    print(
        f"bench/crawl on {platform.node()}: {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; outputs in {run_dir}",
        flush=True,
    )
    tables = [
        bench_corpus(corpus, tools, settings, cache_dir, run_dir, args.port) for corpus in corpora
    ]
    print()
    print("\n\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
