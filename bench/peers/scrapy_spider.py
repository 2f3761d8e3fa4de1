"""The Scrapy peer: a plain Scrapy spider that converts each page's main content with
html-to-markdown and writes one document, in docspasta's layout (``## title`` / ``Source: URL``).

Scope is docspasta's default: same scheme and host as the start URL, path under the start URL's
directory. No download delay, no AutoThrottle, robots.txt ignored, ``CONCURRENT_REQUESTS`` (and
per domain) set to ``--concurrency``. Runs in the peers venv (bench/peers/requirements.txt)::

    python scrapy_spider.py START_URL -o OUT.md [--concurrency N] [--max-pages N]
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any, TextIO
from urllib.parse import urlsplit

import scrapy
from html_to_markdown import ConversionOptions, convert
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from scrapy.linkextractors import LinkExtractor

#: Where the main content usually is, most specific first; ``body`` when none matches.
MAIN_CONTENT = ("main", "[role=main]", "article", "div.body", "#docContent", "body")


def _options(base_url: str) -> ConversionOptions:
    return ConversionOptions(
        heading_style="atx",
        bullets="-",
        code_block_style="backticks",
        extract_metadata=False,
        wrap=False,
        base_url=base_url,
    )


class DocsSpider(scrapy.Spider):
    name = "docs"

    def __init__(self, start: str, output: TextIO, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = [start]
        parts = urlsplit(start)
        self.origin = (parts.scheme, parts.netloc)
        self.scope = parts.path.rsplit("/", 1)[0] + "/"
        self.links = LinkExtractor(canonicalize=False)
        self.output = output
        output.write(f"# Scrapy crawl\n\nSource: {start}\n")

    def in_scope(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc) == self.origin and parts.path.startswith(self.scope)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[scrapy.Request]:
        if not isinstance(response, scrapy.http.HtmlResponse):
            return
        main = next(
            (node for selector in MAIN_CONTENT if (node := response.css(selector)[:1])), None
        )
        title = (response.css("title::text").get() or response.url).strip()
        markdown = convert(main.get() if main else "", _options(response.url)).content or ""
        self.output.write(f"\n## {title}\n\nSource: {response.url}\n\n{markdown.strip()}\n")
        for link in self.links.extract_links(response):
            url = link.url.split("#", 1)[0]
            if self.in_scope(url):
                yield scrapy.Request(url, callback=self.parse)


def main() -> None:
    parser = argparse.ArgumentParser(description="Scrapy + html-to-markdown docs crawl.")
    parser.add_argument("start")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-pages", type=int, default=5000)
    args = parser.parse_args()
    process = CrawlerProcess(
        settings={
            "CONCURRENT_REQUESTS": args.concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "ROBOTSTXT_OBEY": False,
            "CLOSESPIDER_PAGECOUNT": args.max_pages,
            "DEPTH_LIMIT": 0,
            "LOG_LEVEL": "WARNING",
            "TELNETCONSOLE_ENABLED": False,
        }
    )
    with open(args.output, "w", encoding="utf-8") as output:
        process.crawl(DocsSpider, start=args.start, output=output)
        process.start()


if __name__ == "__main__":
    main()
