"""bench/quality: how faithful each tool's document is, on real doc sites served from 127.0.0.1.

For each corpus (bench/corpora.py) the three tools of bench/crawl (docspasta, the Scrapy +
html-to-markdown spider, trafilatura's crawler; bench/peers/) crawl the site in the same run,
with the harness's commands (bench/harness.py), or their outputs of an earlier run are reused
(``--reuse RUN_DIR``). Each output page (a ``Source: URL`` section) is then compared with ground
truth that does not come from docspasta's choices:

- **recall (rst)**, python3.11-doc only: the words of the reST source the package ships
  (``_sources/<page>.rst.txt``, markup, index entries and comments dropped), multiset recall;
- **recall (container)**: the words of the generator's content container (Sphinx ``div.body``,
  DocBook's body without its navheader/navfooter and its ``div.toc`` tables of contents),
  multiset recall;
- **leak %**: output lines whose text is in the page but not in its content container
  (navigation, sidebars, footers), over all non-blank output lines;
- **fences / pre**: fenced blocks in the output vs ``<pre>`` in the container; **code recall**:
  multiset recall of the whitespace-separated tokens of the ``<pre>`` blocks within the fenced
  blocks; **lang %**: fenced blocks with a language over the ``<pre>`` whose page declares one
  (Sphinx ``highlight-X`` wrappers other than none/text);
- **rows / tr**: GFM table rows vs ``<tr>``; **heads Δ%**: |output headings - container headings|
  over container headings (the output's per-page section heading counted as the page's H1;
  DocBook's admonition titles, written as headings, not counted);
- **tau**: Kendall tau between the output's page order and the site's ``rel=next`` chain from the
  start page, over the pages both hold.

Run with the repo's venv (selectolax)::

    .venv/bin/python bench/quality.py [--corpus python|postgres|all] [--only TOOL] [--reuse DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpora import CORPORA, Corpus, in_scope_pages, prepare
from harness import TOOLS, Settings, Site, run_tool, start_server, warm_up
from peervenv import peers_python

#: The content container per corpus (the generator's own), and what inside it is not content.
CONTAINERS = {
    "python": ("div.body", ("a.headerlink",)),
    # DocBook: the body without its navigation bars and its part/chapter tables of contents
    # (div.toc: links to pages the document holds anyway, replaced by its own contents)
    "postgres": ("body", (".navheader", ".navfooter", "div.toc", "a.headerlink")),
}
#: Admonition titles (DocBook writes them as headings): a quote's title in the output, not a
#: heading, in every tool's markdown.
_ADMONITION_HEADINGS = ", ".join(
    f"div.{kind} {level}"
    for kind in ("note", "tip", "warning", "caution", "important", "admonition")
    for level in ("h1", "h2", "h3", "h4", "h5", "h6")
)
_WORD = re.compile(r"\w+", re.UNICODE)
_FENCE = re.compile(r"^\s*(?:>\s*)*(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_TABLE_ROW = re.compile(r"^\s*\|")
_TABLE_SEP = re.compile(r"^\s*\|(?:\s*:?-+:?\s*\|)+\s*$")
#: Links and images (their text kept, nested brackets as in ``[[1]](url)`` too), emphasis,
#: code spans, heading and quote marks, table pipes; underscores stay (identifiers).
_MD_MARKUP = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\([^)]*\)|[*`#>|]+")
_RST_ROLE = re.compile(r":[\w:.+-]+:(?=`)")
_RST_DROP = re.compile(
    r"^\.\. (?:index|_[^:]*|highlight|module|currentmodule|sectionauthor|moduleauthor|"
    r"toctree|testsetup|testcleanup|include|literalinclude|only|raw|impl-detail)\b"
)
_RST_OPTION = re.compile(r"^\s+:[\w-]+:")


@dataclass
class Totals:
    """Sums over the pages of one tool's output."""

    pages: int = 0
    rst_want: int = 0
    rst_got: int = 0
    box_want: int = 0
    box_got: int = 0
    lines: int = 0
    leaked: int = 0
    pre: int = 0
    fences: int = 0
    code_want: int = 0
    code_got: int = 0
    declared: int = 0
    fences_lang: int = 0
    tr: int = 0
    rows: int = 0
    heads_html: int = 0
    heads_md: int = 0
    tau: float | None = None


def words(text: str) -> Counter[str]:
    return Counter(w.casefold() for w in _WORD.findall(text))


def recall(want: Counter[str], got: Counter[str]) -> tuple[int, int]:
    return sum(want.values()), sum(min(n, got[w]) for w, n in want.items())


def rst_text(source: str) -> str:
    """The words a reader sees of a reST source: directives that render nothing, comments,
    option lines and role names dropped; directive arguments kept."""
    kept: list[str] = []
    skipping = False
    for line in source.splitlines():
        if skipping:
            if line.strip() and not line[:1].isspace():
                skipping = False
            else:
                continue
        if _RST_DROP.match(line) or (line.startswith("..") and "::" not in line):
            skipping = True
            continue
        if _RST_OPTION.match(line):
            continue
        line = re.sub(r"^\.\. [\w:-]+::", "", line)
        kept.append(_RST_ROLE.sub("", line))
    return "\n".join(kept)


def sections(document: str) -> list[tuple[str, str]]:
    """(url, markdown) of each page section of a docspasta-layout document, in order."""
    lines = document.split("\n")
    starts = [
        i
        for i, line in enumerate(lines)
        if line.startswith("Source: ") and i >= 2 and lines[i - 2].startswith("## ")
    ]
    out: list[tuple[str, str]] = []
    for n, start in enumerate(starts):
        end = starts[n + 1] - 2 if n + 1 < len(starts) else len(lines)
        body = "\n".join([lines[start - 2], *lines[start + 1 : end]])
        out.append((lines[start][len("Source: ") :].strip(), body))
    return out


def fenced_blocks(markdown: str) -> list[tuple[str, str]]:
    """(info string, code) of each fenced block."""
    blocks: list[tuple[str, str]] = []
    fence: str | None = None
    info = ""
    body: list[str] = []
    for line in markdown.split("\n"):
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence, info, body = match.group(1), match.group(2).strip(), []
            continue
        closing = match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence)
        if closing and match and not match.group(2).strip():
            blocks.append((info, "\n".join(body)))
            fence = None
            continue
        body.append(line)
    return blocks


def prose_lines(markdown: str) -> list[str]:
    """Non-blank lines outside fenced blocks, markup stripped, the section heading skipped."""
    lines: list[str] = []
    inside = None
    for line in markdown.split("\n")[1:]:
        match = _FENCE.match(line)
        if inside is None and match:
            inside = match.group(1)
            continue
        if inside is not None:
            if match and match.group(1)[0] == inside[0] and not match.group(2).strip():
                inside = None
            continue
        text = " ".join(_WORD.findall(_MD_MARKUP.sub(r" \1 ", line))).casefold()
        if text and not line.startswith("Source: "):
            lines.append(text)
    return lines


def container(html: bytes, corpus: str) -> tuple[LexborHTMLParser, LexborNode | None]:
    tree = LexborHTMLParser(html)
    selector, remove = CONTAINERS[corpus]
    node = tree.css_first(selector)
    if node is not None:
        for junk in node.css(", ".join(remove)):
            junk.decompose()
    return tree, node


def _normalised(text: str) -> str:
    return " ".join(_WORD.findall(text)).casefold()


def measure_page(totals: Totals, corpus: str, html: bytes, markdown: str, rst: str | None) -> None:
    tree, box = container(html, corpus)
    if box is None:
        return
    totals.pages += 1
    got = words(_MD_MARKUP.sub(r" \1 ", markdown))
    if rst is not None:
        want, hit = recall(words(rst_text(rst)), got)
        totals.rst_want += want
        totals.rst_got += hit
    want, hit = recall(words(box.text(separator=" ")), got)
    totals.box_want += want
    totals.box_got += hit
    inside = _normalised(box.text(separator=" "))
    body = tree.body
    page = _normalised(body.text(separator=" ")) if body is not None else ""
    for line in prose_lines(markdown):
        totals.lines += 1
        if len(line) > 3 and line not in inside and line in page:
            totals.leaked += 1
    pres = box.css("pre")
    fences = fenced_blocks(markdown)
    totals.pre += len(pres)
    totals.fences += len(fences)
    want, hit = recall(
        Counter(t for pre in pres for t in pre.text().split()),
        Counter(t for _, code in fences for t in code.split()),
    )
    totals.code_want += want
    totals.code_got += hit
    for pre in pres:
        wrapper = pre.parent.parent if pre.parent is not None else None
        classes = (wrapper.attributes.get("class") or "") if wrapper is not None else ""
        declared = re.search(r"highlight-(\S+)", classes)
        if declared and declared.group(1) not in {"none", "text"}:
            totals.declared += 1
    totals.fences_lang += min(
        sum(1 for info, _ in fences if info), totals.declared - totals.fences_lang
    )
    totals.tr += len(box.css("tr"))
    totals.rows += sum(
        1 for line in markdown.split("\n") if _TABLE_ROW.match(line) and not _TABLE_SEP.match(line)
    )
    admonitions = {h.mem_id for h in box.css(_ADMONITION_HEADINGS)}
    totals.heads_html += sum(
        1
        for h in box.css("h1, h2, h3, h4, h5, h6")
        if h.text(strip=True) and h.mem_id not in admonitions
    )
    totals.heads_md += sum(1 for line in markdown.split("\n") if _HEADING.match(line)) - _in_fences(
        markdown
    )


def _in_fences(markdown: str) -> int:
    return sum(
        1
        for _, code in fenced_blocks(markdown)
        for line in code.split("\n")
        if _HEADING.match(line)
    )


def next_chain(root: Path, corpus: Corpus) -> list[str]:
    """The URL paths of the ``rel=next`` chain from the start page, within the scope."""
    chain = [corpus.start_path]
    seen = set(chain)
    while True:
        path = root / chain[-1].lstrip("/")
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            return chain
        link = LexborHTMLParser(path.read_bytes()).css_first("link[rel=next][href]")
        href = link.attributes.get("href") if link is not None else None
        if not href:
            return chain
        following = urlsplit(urljoin(chain[-1], href)).path
        if following in seen or not following.startswith(corpus.scope_dir):
            return chain
        chain.append(following)
        seen.add(following)


def kendall_tau(order: Sequence[str], truth: Sequence[str]) -> float | None:
    rank = {page: i for i, page in enumerate(truth)}
    common = [rank[page] for page in dict.fromkeys(order) if page in rank]
    n = len(common)
    if n < 2:
        return None
    concordant = discordant = 0
    for i in range(n):
        for j in range(i + 1, n):
            if common[i] < common[j]:
                concordant += 1
            else:
                discordant += 1
    return (concordant - discordant) / (n * (n - 1) / 2)


def measure_output(out: Path, corpus: Corpus, root: Path) -> Totals:
    totals = Totals()
    if not out.is_file():
        return totals
    order: list[str] = []
    for url, markdown in sections(out.read_text(encoding="utf-8", errors="replace")):
        path = urlsplit(url).path
        order.append(path)
        file = root / path.lstrip("/")
        if path.endswith("/"):
            file = file / "index.html"
        if not file.is_file():
            continue
        rst = None
        if corpus.name == "python":
            source = root / "_sources" / (path.lstrip("/").removesuffix(".html") + ".rst.txt")
            rst = source.read_text(encoding="utf-8") if source.is_file() else None
        measure_page(totals, corpus.name, file.read_bytes(), markdown, rst)
    totals.tau = kendall_tau(order, next_chain(root, corpus))
    return totals


def _ratio(got: int, want: int) -> str:
    return f"{got / want:.4f}" if want else "—"


def render_table(title: str, rows: Iterable[tuple[str, Totals]]) -> str:
    header = (
        "| tool | pages | recall (rst) | recall (container) | leak % | fences / pre | code recall "
        "| lang % | rows / tr | heads Δ% | tau |"
    )
    lines = [f"### {title}", "", header, "|" + "---|" * 11]
    for tool, t in rows:
        heads = (
            f"{abs(t.heads_md - t.heads_html) / t.heads_html * 100:.1f}" if t.heads_html else "—"
        )
        lines.append(
            f"| {tool} | {t.pages} | {_ratio(t.rst_got, t.rst_want)} "
            f"| {_ratio(t.box_got, t.box_want)} "
            f"| {t.leaked / t.lines * 100 if t.lines else 0:.2f} "
            f"| {t.fences} / {t.pre} | {_ratio(t.code_got, t.code_want)} "
            f"| {t.fences_lang / t.declared * 100 if t.declared else 100:.1f} "
            f"| {t.rows} / {t.tr} | {heads} "
            f"| {'—' if t.tau is None else f'{t.tau:.3f}'} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=[*CORPORA, "all"], default="python")
    parser.add_argument("--only", choices=TOOLS, action="append", help="only this tool")
    parser.add_argument("--reuse", type=Path, help="measure the outputs of this bench/crawl run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-pages", type=int, default=5000)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument(
        "--cache-dir", type=Path, default=Path.home() / ".cache" / "docspasta-bench"
    )
    parser.add_argument(
        "--docspasta",
        type=Path,
        default=Path(__file__).resolve().parent.parent / ".venv/bin/docspasta",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    tools = [tool for tool in TOOLS if tool in (args.only or TOOLS)]
    corpora = list(CORPORA.values()) if args.corpus == "all" else [CORPORA[args.corpus]]
    cache_dir = args.cache_dir.expanduser().resolve()
    run_dir = args.reuse or cache_dir / "runs" / (
        "quality-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    )
    tables = []
    for corpus in corpora:
        root = prepare(corpus, cache_dir)
        if args.reuse is None:
            settings = Settings(
                concurrency=args.concurrency,
                max_pages=args.max_pages,
                timeout=args.timeout,
                db=None,
                docspasta=args.docspasta,
                peers_python=peers_python(cache_dir) if tools != ["docspasta"] else None,
            )
            server, port = start_server(root, args.port)
            try:
                site = Site(corpus, root, port)
                warm_up(site, sorted(in_scope_pages(corpus, root)))
                for tool in tools:
                    run_tool(tool, settings, site, run_dir / corpus.name / tool)
            finally:
                server.terminate()
                server.wait()
        rows = [
            (tool, measure_output(run_dir / corpus.name / tool / "out.md", corpus, root))
            for tool in tools
        ]
        chain = next_chain(root, corpus)
        where = run_dir / corpus.name
        title = f"{corpus.title}: rel=next chain of {len(chain)} pages; outputs in {where}"
        tables.append(render_table(title, rows))
    print("\n\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
