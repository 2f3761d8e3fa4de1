"""``docspasta map URL``: the URLs a crawl would take, and why the others are left out.

It runs a crawl's discovery (robots.txt, llms.txt, sitemaps) and follows links breadth-first
with the crawl's own rules (scope, path globs, traps, versions and languages, robots.txt,
depth, page cap) through the guarded, polite fetcher — but converts nothing and stores nothing.
stdout gets one line per URL: ``take URL`` in discovery order, then ``skip URL  reason``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from docspasta.cli.discoveryflags import (
    AllowPrivateHostFlag,
    ConcurrencyFlag,
    CookieFlag,
    ExcludePathFlag,
    HeaderFlag,
    IncludePathFlag,
    IncludeVariantsFlag,
    MaxDepthFlag,
    MaxPagesFlag,
    NoLlmsTxtFlag,
    NoPolitenessFlag,
    NoRobotsFlag,
    NoSitemapsFlag,
    ScopeFlag,
    discovery_options,
)
from docspasta.domain import DEFAULT_MAX_PAGES, CrawlOptions
from docspasta.errors import DocspastaError, InvalidOptionError

if TYPE_CHECKING:
    from docspasta.mapping import SiteMap
from docspasta.settings import Settings

__all__ = ["map_command", "render"]

stderr = Console(stderr=True)


def render(site: SiteMap) -> str:
    """``take URL`` lines in discovery order, then ``skip URL  reason`` lines."""
    lines = [f"take  {url}" for url in site.taken]
    lines += [f"skip  {url}  {reason}" for url, reason in site.left_out]
    return "\n".join(lines) + "\n"


def map_command(
    url: Annotated[str, typer.Argument(help="Start URL of the docs.")],
    max_pages: MaxPagesFlag = DEFAULT_MAX_PAGES,
    max_depth: MaxDepthFlag = 20,
    concurrency: ConcurrencyFlag = 8,
    no_robots: NoRobotsFlag = False,
    no_sitemaps: NoSitemapsFlag = False,
    no_llms_txt: NoLlmsTxtFlag = False,
    scope: ScopeFlag = None,
    include_path: IncludePathFlag = None,
    exclude_path: ExcludePathFlag = None,
    include_variants: IncludeVariantsFlag = False,
    no_politeness: NoPolitenessFlag = False,
    header: HeaderFlag = None,
    cookie: CookieFlag = None,
    allow_private_host: AllowPrivateHostFlag = None,
) -> None:
    """Print the URLs a crawl would take, and each left-out URL with its reason."""
    try:
        options = CrawlOptions(
            max_pages=max_pages,
            max_depth=max_depth,
            concurrency=concurrency,
            respect_robots=not no_robots,
            **discovery_options(
                no_sitemaps=no_sitemaps,
                no_llms_txt=no_llms_txt,
                scope=scope,
                include_path=include_path,
                exclude_path=exclude_path,
                include_variants=include_variants,
                no_politeness=no_politeness,
                header=header,
                cookie=cookie,
            ),
        )
        settings = Settings()
        hosts = {h.strip().lower() for h in allow_private_host or () if h.strip()}
        settings = settings.model_copy(
            update={"allow_private_hosts": settings.allow_private_hosts | hosts}
        )
        from docspasta.mapping import map_site  # the crawler stack, only when it runs

        site = asyncio.run(map_site(url, options, settings))
    except ValidationError as exc:
        error = exc.errors()[0]
        field_name = "--" + "-".join(str(p) for p in error["loc"]).replace("_", "-")
        stderr.print(f"[red]error:[/] {field_name}: {error['msg']}", highlight=False)
        raise typer.Exit(2) from None
    except DocspastaError as exc:
        stderr.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        code = 2 if isinstance(exc, InvalidOptionError) else 1
        raise typer.Exit(code) from None
    sys.stdout.write(render(site))
    sys.stdout.flush()
    stderr.print(
        f"{len(site.taken)} page(s) would be taken, {len(site.left_out)} URL(s) left out",
        highlight=False,
    )
