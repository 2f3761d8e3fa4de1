"""Flags shared by several commands (``crawl``, ``map``, ``serve``, ``worker``, ``mcp``): the
crawl's limits, discovery, scope and politeness, the network guard, verbosity.

Each flag maps to one ``CrawlOptions`` field; :func:`discovery_options` turns the parsed flags
into those fields (``--header "Name: value"`` and ``--cookie name=value`` included).
"""

from __future__ import annotations

from typing import Annotated

import typer

from docspasta.errors import InvalidOptionError

MaxPagesFlag = Annotated[int, typer.Option(help="Most pages to take.", show_default=True)]
MaxDepthFlag = Annotated[int, typer.Option(help="Most link hops from the start page.")]
ConcurrencyFlag = Annotated[int, typer.Option(help="Pages fetched and converted at the same time.")]
NoRobotsFlag = Annotated[bool, typer.Option("--no-robots", help="Ignore robots.txt.")]
AllowPrivateHostFlag = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-private-host",
        help="Let the network guard reach this host although it is not public "
        "(repeatable; also DOCSPASTA_ALLOW_PRIVATE_HOSTS=a,b).",
    ),
]
VerboseFlag = Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logs.")]
NoSitemapsFlag = Annotated[
    bool, typer.Option("--no-sitemaps", help="Do not seed the crawl from the site's sitemaps.")
]
NoLlmsTxtFlag = Annotated[
    bool, typer.Option("--no-llms-txt", help="Do not seed the crawl from the site's llms.txt.")
]
ScopeFlag = Annotated[
    str | None,
    typer.Option(
        "--scope",
        help="Widen the crawl to the directory of this URL too (default: the start URL's).",
        show_default=False,
    ),
]
IncludePathFlag = Annotated[
    list[str] | None,
    typer.Option(
        "--include-path",
        help="Take only pages whose path matches this glob (repeatable; '*' within a segment, "
        "'**' across, trailing '/' for a directory).",
    ),
]
ExcludePathFlag = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude-path", help="Never take pages whose path matches this glob (repeatable)."
    ),
]
IncludeVariantsFlag = Annotated[
    bool,
    typer.Option(
        "--include-variants",
        help="Also take other versions and translations (/v1/, /fr/, ?lang=) of the docs.",
    ),
]
NoPolitenessFlag = Annotated[
    bool,
    typer.Option(
        "--no-politeness",
        help="No per-host connection limit, delay or Crawl-delay: for mirrors you own.",
    ),
]
HeaderFlag = Annotated[
    list[str] | None,
    typer.Option(
        "--header",
        "-H",
        help="'Name: value' sent to the start URL's host only, never logged (repeatable).",
    ),
]
CookieFlag = Annotated[
    list[str] | None,
    typer.Option(
        "--cookie",
        help="'name=value' sent to the start URL's host only, never logged (repeatable).",
    ),
]


def _pairs(values: list[str] | None, separator: str, flag: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values or []:
        name, found, content = value.partition(separator)
        if not found or not name.strip():
            # The value may be a secret: the message names the flag, not what was given.
            raise InvalidOptionError(flag, f"expected 'name{separator}value'")
        pairs[name.strip()] = content.strip()
    return pairs


def discovery_options(
    *,
    no_sitemaps: bool,
    no_llms_txt: bool,
    scope: str | None,
    include_path: list[str] | None,
    exclude_path: list[str] | None,
    include_variants: bool,
    no_politeness: bool,
    header: list[str] | None,
    cookie: list[str] | None,
) -> dict[str, object]:
    """The ``CrawlOptions`` fields the flags set (validation is the model's)."""
    return {
        "follow_sitemaps": not no_sitemaps,
        "follow_llms_txt": not no_llms_txt,
        "scope": scope,
        "include_paths": tuple(include_path or ()),
        "exclude_paths": tuple(exclude_path or ()),
        "include_variants": include_variants,
        "politeness": not no_politeness,
        "headers": _pairs(header, ":", "--header"),
        "cookies": _pairs(cookie, "=", "--cookie"),
    }
