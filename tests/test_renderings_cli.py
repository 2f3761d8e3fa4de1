"""``docspasta crawl --format/--max-tokens/--token-encoding`` and the site's reading order, as a
user runs them: a real process against real local servers."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.http import FixtureServer
from tests.support.sites import EXPECTED_ORDER, serve_guide, source_paths
from tests.test_cli import run_cli

ALLOW = ("--allow-private-host", "127.0.0.1")


def test_llms_txt_and_jsonl_on_stdout(fixture_server: FixtureServer, tmp_path: Path) -> None:
    start = serve_guide(fixture_server)
    db = tmp_path / "d.db"
    index = run_cli("crawl", start, *ALLOW, "--format", "llms-txt", db=db)
    assert index.returncode == 0, index.stderr
    assert index.stdout.startswith("# Guide\n")
    assert f"- [Introduction]({fixture_server.url('/docs/guide/intro.html')})" in index.stdout
    lines = run_cli("crawl", start, *ALLOW, "-f", "jsonl", "--token-encoding", "cl100k_base", db=db)
    assert lines.returncode == 0, lines.stderr
    rows = [json.loads(line) for line in lines.stdout.splitlines()]
    assert [row["url"].removeprefix(fixture_server.base_url) for row in rows] == EXPECTED_ORDER
    assert all(
        set(row) == {"url", "title", "markdown", "tokens", "order", "fidelity"} for row in rows
    )
    full = run_cli("crawl", start, *ALLOW, "-f", "llms-full", db=db)
    assert full.returncode == 0, full.stderr
    assert full.stdout.count("\n---\n") == len(EXPECTED_ORDER)


def test_dir_and_split_write_files(fixture_server: FixtureServer, tmp_path: Path) -> None:
    start = serve_guide(fixture_server)
    db = tmp_path / "d.db"
    out = tmp_path / "rag"
    result = run_cli("crawl", start, *ALLOW, "-f", "dir", "-o", str(out), db=db)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["pages"]) == len(EXPECTED_ORDER)
    assert all((out / entry["file"]).is_file() for entry in manifest["pages"])
    assert f"{len(EXPECTED_ORDER) + 1} files" in result.stderr
    document = tmp_path / "split" / "guide.md"
    result = run_cli("crawl", start, *ALLOW, "--max-tokens", "100", "-o", str(document), db=db)
    assert result.returncode == 0, result.stderr
    parts = sorted(document.parent.glob("guide.part-*.md"))
    assert len(parts) > 1
    index = document.read_text()
    assert all(f"]({part.name})" in index for part in parts)
    sources = [p for part in parts for p in source_paths(part.read_text(), fixture_server.base_url)]
    assert list(dict.fromkeys(sources)) == EXPECTED_ORDER  # a long page continues in the next


def test_output_flags_that_cannot_be_written_are_refused_first(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    for flags, word in (
        (("-f", "dir"), "-o DIR"),
        (("--max-tokens", "500"), "-o FILE"),
        (("--max-tokens", "500", "-f", "jsonl", "-o", "x"), "markdown only"),
    ):
        result = run_cli("crawl", "https://docs.python.org/3/", *flags, db=db)
        assert result.returncode == 2, result.stderr
        assert word in result.stderr
        assert "Traceback" not in result.stderr
    assert not db.exists()


def _chain_page(title: str, next_path: str | None, links: str) -> str:
    rel = f"<link rel='next' href='{next_path}'>" if next_path else ""
    return (
        f"<!doctype html><html><head><meta name='generator' content='Sphinx 7.2'>"
        f"<title>{title}</title>{rel}</head><body><div class='related'>{links}</div>"
        f"<div class='body' role='main'><h1>{title}</h1><p>About {title}, at length.</p>"
        "</div></body></html>"
    )


def test_document_follows_the_rel_next_chain(fixture_server: FixtureServer, tmp_path: Path) -> None:
    """Header links put the pages in reverse; the rel=next chain (Sphinx's toctree order) wins,
    and a page outside the chain comes after it."""
    d = "/docs/"
    header = "".join(f"<a href='{d}{name}.html'>{name}</a>" for name in ("index2", "c", "b", "a"))
    fixture_server.add(d, _chain_page("Start", f"{d}a.html", header))
    fixture_server.add(f"{d}a.html", _chain_page("A", f"{d}b.html", header))
    fixture_server.add(f"{d}b.html", _chain_page("B", f"{d}c.html", header))
    fixture_server.add(f"{d}c.html", _chain_page("C", None, header))
    fixture_server.add(f"{d}index2.html", _chain_page("Index", None, header))
    documents = []
    for _ in range(2):
        result = run_cli("crawl", fixture_server.url(d), *ALLOW, db=tmp_path / "d.db")
        assert result.returncode == 0, result.stderr
        documents.append(result.stdout)
    order = source_paths(documents[0], fixture_server.base_url)
    assert order == [d, f"{d}a.html", f"{d}b.html", f"{d}c.html", f"{d}index2.html"]
    assert documents[0] == documents[1]
