"""Which discovered URLs become pages of a crawl, and why the others do not.

:class:`LinkPolicy` joins every rule a URL must pass, in this order (the first refusal is the
reason reported, e.g. by ``docspasta map``): scope, not-a-page file types, ``--include-path`` /
``--exclude-path``, trap rules, sibling versions and languages, robots.txt. The start page
itself is always taken.

Pure: built from the options and the robots.txt text; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from docspasta.core.pathfilter import PathFilter
from docspasta.core.robots import RobotsPolicy
from docspasta.core.traps import trap_reason
from docspasta.core.urls import Scope, normalize_url
from docspasta.core.variants import sibling_reason
from docspasta.domain import CrawlOptions

#: Links whose path ends like this are not documentation pages; they are never fetched.
NON_PAGE_EXTENSIONS = frozenset(
    [
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".svg",
        ".webp",
        ".ico",
        ".bmp",
        ".pdf",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".tar",
        ".7z",
        ".whl",
        ".egg",
        ".exe",
        ".dmg",
        ".deb",
        ".rpm",
        ".css",
        ".js",
        ".mjs",
        ".map",
        ".json",
        ".xml",
        ".txt",
        ".csv",
        ".woff",
        ".woff2",
        ".ttf",
        ".eot",
        ".mp3",
        ".mp4",
        ".webm",
        ".mov",
        ".avi",
        ".epub",
        ".mobi",
        ".ps",
        ".rss",
        ".atom",
        ".py",
        ".ipynb",
        ".tex",
    ]
)
DENY_ALL_ROBOTS = "User-agent: *\nDisallow: /\n"


def non_page_suffix(url: str) -> str | None:
    """The file extension when ``url`` names a file that is not a page, else None."""
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    return suffix if suffix in NON_PAGE_EXTENSIONS else None


def is_page_link(url: str) -> bool:
    """False for links that name a file that is not a page (images, archives, scripts...)."""
    return non_page_suffix(url) is None


@dataclass(frozen=True)
class CrawlScope:
    """The union of the start URL's default scope and the ``--scope`` one, if given."""

    scopes: tuple[Scope, ...]

    @classmethod
    def for_crawl(cls, start_url: str, widen_to: str | None = None) -> CrawlScope:
        scopes = [Scope.for_start_url(start_url)]
        if widen_to is not None:
            scopes.append(Scope.for_start_url(widen_to))
        return cls(tuple(scopes))

    def contains(self, url: str) -> bool:
        """Whether the normalised ``url`` is in any of the scopes."""
        return any(scope.contains(url) for scope in self.scopes)


@dataclass(frozen=True)
class LinkPolicy:
    """Which discovered links become pages of a job; ``verdict`` says why one does not."""

    start_url: str
    scope: CrawlScope
    robots: RobotsPolicy
    respect_robots: bool = True
    paths: PathFilter = field(default_factory=PathFilter)
    include_variants: bool = False

    @classmethod
    def for_crawl(
        cls, start_url: str, options: CrawlOptions, robots_txt: str | None, user_agent: str
    ) -> LinkPolicy:
        start = normalize_url(start_url) or start_url
        return cls(
            start_url=start,
            scope=CrawlScope.for_crawl(start, options.scope),
            robots=RobotsPolicy.from_text(robots_txt, user_agent),
            respect_robots=options.respect_robots,
            paths=PathFilter(options.include_paths, options.exclude_paths),
            include_variants=options.include_variants,
        )

    def verdict(self, url: str) -> str | None:
        """None when the normalised ``url`` is taken, else the reason it is left out."""
        if url == self.start_url:
            return None
        if not self.scope.contains(url):
            return "out of scope"
        suffix = non_page_suffix(url)
        if suffix is not None:
            return f"not a page ({suffix} file)"
        reason = self.paths.verdict(url) or trap_reason(url)
        if reason is None and not self.include_variants:
            reason = sibling_reason(self.start_url, url)
        if reason is None and self.respect_robots and not self.robots.allowed(url):
            reason = "disallowed by robots.txt"
        return reason

    def accepts(self, url: str) -> bool:
        return self.verdict(url) is None
