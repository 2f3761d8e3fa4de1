"""The trafilatura peer: trafilatura's focused crawler (``trafilatura.spider``) plus its
extraction to markdown, writing one document in docspasta's layout (``## title`` /
``Source: URL``).

The loop is ``spider.focused_crawler``'s, written out so each fetched page is also extracted
(``focused_crawler`` itself keeps only the links): ``init_crawl``, then take the next URL from
the spider's URL store, ``fetch_response``, ``process_response`` (link discovery, scope: URLs
containing the start URL's directory), ``extract``. ``SLEEP_TIME`` is 0, ``SSRF_PROTECTION``
off (the site is on 127.0.0.1) and the site has no robots.txt. trafilatura's crawler fetches
one page at a time, so there is no concurrency to set; it also fetches a page again for each
``#fragment`` it links to, and only the first copy is extracted. courlan (trafilatura's URL
filter) drops every link to an IP address with a port, so the site must be served on port 80.
Runs in the peers venv (bench/peers/requirements.txt)::

    python trafilatura_crawl.py START_URL -o OUT.md [--max-pages N]
"""

from __future__ import annotations

import argparse
import html
import re
from typing import TextIO

from trafilatura import extract, spider
from trafilatura.downloads import fetch_response
from trafilatura.settings import use_config

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def write_page(output: TextIO, url: str, data: bytes, config: object) -> None:
    """Extract ``data`` (the page's HTML) to markdown and append its section to ``output``."""
    match = _TITLE.search(data)
    title = html.unescape(match.group(1).decode("utf-8", "replace")).strip() if match else url
    markdown = extract(
        data,
        url=url,
        output_format="markdown",
        include_formatting=True,
        include_links=True,
        include_tables=True,
        config=config,
    )
    output.write(f"\n## {' '.join(title.split())}\n\nSource: {url}\n\n{(markdown or '').strip()}\n")
    output.flush()


def crawl(start: str, output: TextIO, max_pages: int) -> None:
    config = use_config()
    config.set("DEFAULT", "SLEEP_TIME", "0")
    config.set("DEFAULT", "SSRF_PROTECTION", "off")  # the benchmark site is on 127.0.0.1
    output.write(f"# trafilatura crawl\n\nSource: {start}\n")
    params = spider.init_crawl(start, config=config)  # fetches the start page for its links
    written: set[str] = set()
    response = fetch_response(start, decode=False, config=config)  # ... but keeps no content
    while True:
        if response is not None and response.data and response.status == 200:
            page_url = (response.url or start).split("#", 1)[0]
            if page_url not in written:  # the spider fetches every #fragment link again
                write_page(output, page_url, response.data, config)
                written.add(page_url)
        url = spider.URL_STORE.get_url(params.base) if params.is_on else None
        if not url or len(written) >= max_pages:
            return
        params.i += 1
        response = fetch_response(url, decode=False, config=config)
        spider.process_response(response, params)
        params.update_metadata(spider.URL_STORE)


def main() -> None:
    parser = argparse.ArgumentParser(description="trafilatura focused crawl + extraction.")
    parser.add_argument("start")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--max-pages", type=int, default=5000)
    args = parser.parse_args()
    with open(args.output, "w", encoding="utf-8") as output:
        crawl(args.start, output, args.max_pages)


if __name__ == "__main__":
    main()
