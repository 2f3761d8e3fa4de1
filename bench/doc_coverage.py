"""Which pages a crawler's output document holds, and how many of the corpus pages that is.

Every tool writes docspasta's layout: one section per page, a ``## title`` line, a blank line,
then ``Source: URL``. A page is counted once per distinct URL path (query and fragment
dropped, a trailing ``/`` read as ``/index.html``).
"""

from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

_SECTION_SOURCE = re.compile(r"^## [^\n]*\n\nSource: (\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class Coverage:
    """``pages``: distinct pages in the output; ``found``: how many of them the corpus has."""

    pages: int
    found: int
    expected: int

    @property
    def ratio(self) -> float:
        return self.found / self.expected if self.expected else 0.0


def page_paths(document: str) -> set[str]:
    """The URL paths of the page sections in ``document``."""
    paths = set()
    for url in _SECTION_SOURCE.findall(document):
        path = unquote(urlsplit(url).path) or "/"
        paths.add(path + "index.html" if path.endswith("/") else path)
    return paths


def measure_coverage(output: Path, expected: Set[str]) -> Coverage:
    """Coverage of ``output`` (missing file: no pages) against the expected URL paths."""
    try:
        document = output.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        document = ""
    paths = page_paths(document)
    return Coverage(pages=len(paths), found=len(paths & expected), expected=len(expected))
