"""``--include-path`` / ``--exclude-path``: path globs that choose which pages a crawl takes.

The semantics, in full:

* A pattern is matched against the URL's path only (never the host or the query), in its
  normalised, percent-encoded form (``/docs/a%20b.html``). Matching is case-sensitive.
* ``*`` matches any run of characters within one segment (no ``/``); ``**`` matches any run
  of characters including ``/``. Every other character is literal.
* A pattern that starts with ``/`` is anchored at the root of the path; one that does not
  may match from the start of any segment (``api/*.html`` matches ``/docs/api/x.html``).
* A pattern that ends with ``/`` takes that directory and everything under it
  (``/docs/api/`` is ``/docs/api/**``); any other pattern must match the whole path.
* A URL is taken when it matches no exclude pattern and, if include patterns are given, at
  least one of them. Exclusion wins. (The start page is always taken; the caller sees to it.)

Pure: strings in, answers out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """The compiled regular expression of one path glob (see the module docstring)."""
    body = pattern if pattern.startswith("/") else "/" + pattern
    if body.endswith("/"):
        body += "**"
    parts: list[str] = []
    index = 0
    while index < len(body):
        if body.startswith("**", index):
            parts.append(".*")
            index += 2
        elif body[index] == "*":
            parts.append("[^/]*")
            index += 1
        else:
            parts.append(re.escape(body[index]))
            index += 1
    anchor = "" if pattern.startswith("/") else "(?:/.*)?"
    return re.compile(anchor + "".join(parts))


@dataclass(frozen=True)
class PathFilter:
    """Include and exclude globs over URL paths; ``verdict`` says why a URL is left out."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    _include: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _exclude: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_include", tuple(glob_to_regex(p) for p in self.include))
        object.__setattr__(self, "_exclude", tuple(glob_to_regex(p) for p in self.exclude))

    def verdict(self, url: str) -> str | None:
        """None when ``url`` is taken, else the reason it is left out."""
        path = urlsplit(url).path or "/"
        for pattern, regex in zip(self.exclude, self._exclude, strict=True):
            if regex.fullmatch(path):
                return f"excluded by --exclude-path {pattern}"
        if self._include and not any(regex.fullmatch(path) for regex in self._include):
            return "matches no --include-path"
        return None

    def allows(self, url: str) -> bool:
        return self.verdict(url) is None
