"""llms.txt (https://llmstxt.org): the site's own list of the pages worth reading.

:func:`parse_llms_txt` takes the file's text and returns its title and the absolute URLs of
its markdown links, in file order. :func:`page_url` maps a link to the HTML page it stands for
(``/a/page.html.md`` is the markdown twin of ``/a/page.html``; ``/a/index.html.md`` of ``/a/``).

Pure: nothing here fetches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from docspasta.core.urls import normalize_url

#: ``[title](url)`` or ``[title](url "tooltip")``; images (``![..](..)``) are not links.
_LINK = re.compile(r"(?<!!)\[([^\]\n]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_TITLE = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
#: Names of the files looked for, in order of preference.
LLMS_FILES = ("llms.txt", "llms-full.txt")


@dataclass(frozen=True)
class LlmsTxt:
    """A parsed llms.txt: the H1 title (or None) and its links, absolute and normalised."""

    title: str | None
    links: tuple[str, ...]


def parse_llms_txt(text: str, url: str) -> LlmsTxt:
    """Title and links of an llms.txt served at ``url`` (relative links are resolved to it).

    Links that are not http(s) are dropped; duplicates keep their first position.
    """
    title_match = _TITLE.search(text)
    seen: dict[str, None] = {}
    for match in _LINK.finditer(text):
        link = normalize_url(match.group(2), url)
        if link is not None:
            seen.setdefault(link, None)
    return LlmsTxt(title_match.group(1) if title_match else None, tuple(seen))


def page_url(link: str) -> str | None:
    """The HTML page a llms.txt link stands for, or None when it names no HTML page.

    ``x.html.md`` (the convention for a page's markdown twin) gives ``x.html`` — which
    normalises to the directory for ``index.html``; other ``.md``/``.txt`` files give None;
    any other link is returned as it is.
    """
    path = link.split("?", 1)[0]
    lower = path.lower()
    if lower.endswith((".html.md", ".htm.md")):
        return normalize_url(link[: len(path) - 3] + link[len(path) :])
    if lower.endswith((".md", ".mdx", ".txt")):
        return None
    return link
