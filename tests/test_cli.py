"""The command line as a user runs it: a real process, real local servers, real SQLite files."""

from __future__ import annotations

import os
import shlex
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.http import FixtureServer
from tests.support.sites import EXPECTED_ORDER, serve_guide, source_paths


def run_cli(
    *args: str, db: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DOCSPASTA_")} | {
        "DOCSPASTA_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    environment |= env or {}
    return subprocess.run(
        [sys.executable, "-m", "docspasta", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def job_rows(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from crawling_jobs").fetchone()[0])


def test_crawl_writes_the_document_and_a_summary(
    fixture_server: FixtureServer, tmp_path: Path
) -> None:
    start = serve_guide(fixture_server)
    out = tmp_path / "out" / "guide.md"
    result = run_cli(
        "crawl", start, "-o", str(out), "--allow-private-host", "127.0.0.1", db=tmp_path / "d.db"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    document = out.read_text()
    assert source_paths(document, fixture_server.base_url) == EXPECTED_ORDER
    summary = result.stderr.strip().splitlines()[-1]
    assert f"{len(EXPECTED_ORDER)} pages" in summary
    assert "tokens" in summary
    assert str(out) in summary


def test_crawl_without_output_writes_to_stdout(
    fixture_server: FixtureServer, tmp_path: Path
) -> None:
    start = serve_guide(fixture_server)
    result = run_cli(
        "crawl",
        start,
        db=tmp_path / "d.db",
        env={"DOCSPASTA_ALLOW_PRIVATE_HOSTS": "localhost,127.0.0.1"},
    )
    assert result.returncode == 0, result.stderr
    assert source_paths(result.stdout, fixture_server.base_url) == EXPECTED_ORDER


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-pages", "0"], "--max-pages"),
        (["--concurrency", "1000"], "--concurrency"),
        (["--max-pages", "999999"], "max_pages"),
    ],
)
def test_invalid_options_are_refused_before_any_job(
    fixture_server: FixtureServer, tmp_path: Path, args: list[str], message: str
) -> None:
    db = tmp_path / "d.db"
    result = run_cli(
        "crawl", fixture_server.url("/docs/"), "--allow-private-host", "127.0.0.1", *args, db=db
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    assert message in lines[0]
    assert job_rows(db) == 0


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://127.0.0.1:9/docs/", "loopback"),
        ("http://10.1.2.3/docs/", "private"),
        ("http://169.254.169.254/latest/", "link-local"),
        ("ftp://example.com/docs/", "http"),
        ("not a url", "url"),
    ],
)
def test_refused_urls_exit_2_with_one_line(tmp_path: Path, url: str, rule: str) -> None:
    db = tmp_path / "d.db"
    result = run_cli("crawl", url, db=db)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert rule in lines[0]
    assert "Traceback" not in result.stderr
    assert job_rows(db) == 0


def test_unreachable_start_page_fails_the_job(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    # Port 9 (discard) has no listener here: connection refused.
    result = run_cli(
        "crawl", "http://127.0.0.1:9/docs/", "--allow-private-host", "127.0.0.1", db=db
    )
    assert result.returncode == 1
    assert "failed" in result.stderr
    assert "cannot reach" in result.stderr
    assert job_rows(db) == 1  # the job exists and records why it failed


@pytest.mark.parametrize(
    ("status", "content_type", "reason"),
    [(200, "application/pdf", "not an HTML page"), (404, "text/html", "HTTP 404")],
)
def test_bad_start_page_fails_the_job_with_its_reason(
    fixture_server: FixtureServer, tmp_path: Path, status: int, content_type: str, reason: str
) -> None:
    fixture_server.add("/docs/start", b"%PDF-1.4", status=status, content_type=content_type)
    result = run_cli(
        "crawl",
        fixture_server.url("/docs/start"),
        "--allow-private-host",
        "127.0.0.1",
        db=tmp_path / "d.db",
    )
    assert result.returncode == 1
    assert reason in result.stderr
    assert "Traceback" not in result.stderr


def test_resume_of_an_unknown_job_is_refused(tmp_path: Path) -> None:
    result = run_cli("crawl", "--resume", "no-such-job", db=tmp_path / "d.db")
    assert result.returncode == 2
    assert "not found" in result.stderr


def test_resume_finishes_an_interrupted_crawl(
    fixture_server: FixtureServer, tmp_path: Path
) -> None:
    """Ctrl-C leaves a resumable job and prints the command; that command finishes it."""
    start = serve_guide(fixture_server, {path: 0.4 for path in EXPECTED_ORDER[1:]})
    db = tmp_path / "d.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCSPASTA_")} | {
        "DOCSPASTA_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "NO_COLOR": "1",
        "COLUMNS": "300",
    }
    out = tmp_path / "guide.md"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "docspasta",
            "crawl",
            start,
            "-o",
            str(out),
            "--allow-private-host",
            "127.0.0.1",
            "--concurrency",
            "1",
            "--no-sitemaps",  # interrupt among pages, not among discovery probes
            "--no-llms-txt",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    fixture_server.wait_for_requests(4, timeout=20)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    command = next(line.strip() for line in stderr.splitlines() if "--resume" in line)
    assert not out.exists()
    before = len(fixture_server.requests)
    result = run_cli(*shlex.split(command)[1:], db=db)
    assert result.returncode == 0, result.stderr
    assert source_paths(out.read_text(), fixture_server.base_url) == EXPECTED_ORDER
    again = fixture_server.requests[before:]
    assert len(again) < len(EXPECTED_ORDER)  # finished pages were not fetched again


def test_crawl_warns_about_pages_that_lost_content(
    fixture_server: FixtureServer, tmp_path: Path
) -> None:
    """A heading inside a <pre> becomes a code line: the summary names the page and the loss."""
    fixture_server.add(
        "/lossy/page.html",
        "<html><head><title>Lossy</title></head><body><main><h1>Lossy</h1>"
        "<p>Words before the form, enough of them to be a page of its own.</p>"
        "<pre><h2>A heading in a pre</h2></pre>"
        "</main></body></html>",
    )
    out = tmp_path / "lossy.md"
    result = run_cli(
        "crawl",
        f"{fixture_server.base_url}/lossy/page.html",
        "-o",
        str(out),
        "--allow-private-host",
        "127.0.0.1",
        db=tmp_path / "d.db",
    )
    assert result.returncode == 0, result.stderr
    assert "1 page(s) lost content in conversion" in result.stderr
    assert f"{fixture_server.base_url}/lossy/page.html (headings)" in result.stderr


def test_the_entry_point_exits_with_the_commands_status() -> None:
    """``docspasta.entry`` ends the process with ``os._exit``: the status and what was printed
    must still come out as ``sys.exit`` would give them."""
    for code, status, printed in (
        ("None", 0, ""),
        ("3", 3, ""),
        ("'no such job'", 1, "no such job"),
    ):
        program = f"import sys; from docspasta.entry import _exit; print('out'); _exit({code})"
        result = subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, timeout=30, check=False
        )
        assert (result.returncode, result.stdout, result.stderr.strip()) == (
            status,
            "out\n",
            printed,
        )
