"""``docspasta crawl --format/--max-tokens``: render a finished job and write the files.

``markdown``, ``llms-txt``, ``llms-full`` and ``jsonl`` are one file (``-o`` or stdout); ``dir``
writes a directory (``-o DIR``: ``manifest.json`` and ``pages/*.md``); ``--max-tokens N`` writes
the index to ``-o FILE`` and the parts beside it (``FILE-stem.part-001.md``...). Every file is
written to a temporary name first and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from docspasta.core.renderings import Format, Rendering
from docspasta.errors import InvalidOptionError

if TYPE_CHECKING:
    from docspasta.store import JobRecord, Store


def check_output(format: Format, max_tokens: int | None, output: Path | None) -> None:
    """Refuse, before crawling, a combination of flags that cannot be written."""
    if format == "dir" and output is None:
        raise InvalidOptionError("--output", "--format dir writes a directory: give -o DIR")
    if max_tokens is not None:
        if format != "markdown":
            raise InvalidOptionError("--max-tokens", "splits --format markdown only")
        if output is None:
            raise InvalidOptionError("--max-tokens", "writes several files: give -o FILE")


async def render_job(
    store: Store, job: JobRecord, format: Format, max_tokens: int | None, stem: str
) -> Rendering:
    """The rendering of a finished job's stored pages."""
    from docspasta.runtime import render_job as render_stored  # the crawl stack, lazily

    try:
        return await render_stored(store, job, format, max_tokens=max_tokens, stem=stem)
    except ValueError as exc:
        raise InvalidOptionError("--max-tokens", str(exc)) from exc


@contextmanager
def _replacing(path: Path) -> Iterator[TextIO]:
    """A text file that replaces ``path`` when the block ends without error (written under a
    temporary name, so a reader never sees half a file); write errors are the user's to fix."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        with partial.open("w", encoding="utf-8") as file:
            yield file
        os.replace(partial, path)
    except OSError as exc:
        raise InvalidOptionError("--output", f"cannot write {path}: {exc.strerror}") from exc


def write_file(path: Path, text: str) -> None:
    with _replacing(path) as file:
        file.write(text)


async def write_document(store: Store, job_id: str, output: Path | None) -> None:
    """Write the job's finished document to ``output`` (stdout if None) chunk by chunk, as
    the store holds it: memory holds one chunk, whatever the document's size."""
    if output is None:
        async for chunk in store.iter_final_markdown(job_id):
            sys.stdout.write(chunk)
        sys.stdout.flush()
        return
    with _replacing(output) as file:
        async for chunk in store.iter_final_markdown(job_id):
            file.write(chunk)


def write_rendering(rendering: Rendering, output: Path) -> list[Path]:
    """Write the rendering's files at ``output``; returns the paths written, the main one first."""
    if rendering.format == "dir":
        if output.exists() and not output.is_dir():
            raise InvalidOptionError("--output", f"{output} exists and is not a directory")
        paths = [output / file.path for file in rendering.files]
        for path, file in zip(paths, rendering.files, strict=True):
            write_file(path, file.content)
        return paths
    index, *parts = rendering.files
    paths = [output, *(output.parent / file.path for file in parts)]
    write_file(output, index.content)
    for path, file in zip(paths[1:], parts, strict=True):
        write_file(path, file.content)
    return paths
