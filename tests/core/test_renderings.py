"""Renderings of the same pages: markdown, llms-txt, llms-full, jsonl, dir, and token splits."""

from __future__ import annotations

import json
import re

import pytest

from docspasta.core.assemble import SectionPage, assemble_document
from docspasta.core.markdown import code_fence_spans
from docspasta.core.renderings import (
    FORMATS,
    RenderPage,
    description,
    llms_sections,
    page_file_name,
    render,
)
from docspasta.core.tokens import count_tokens

SOURCE = "https://d.example/docs/"


def page(path: str, title: str, body: str, fidelity: dict[str, int] | None = None) -> RenderPage:
    return RenderPage(SOURCE + path, title, f"# {title}\n\n{body}\n", fidelity)


PAGES = [
    page("", "Guide", "Welcome to the guide. It explains everything.", {"links_html": 2}),
    page(
        "intro.html",
        "Intro",
        "Start *here*: read [this](https://x.example/) first.\n\n```python\nprint('hi')\n```",
    ),
    page("api/", "API reference", "| a | b |\n| --- | --- |\n| 1 | 2 |\n\nThe API, in full."),
    page("api/ref.html", "Functions", "- one\n- two\n\nEvery function."),
]


def test_markdown_is_the_assembled_document_when_nothing_repeats() -> None:
    sections = [SectionPage(p.url, p.title, p.markdown) for p in PAGES]
    assert render("markdown", "Guide", SOURCE, PAGES).text == assemble_document(
        "Guide", SOURCE, sections
    )


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "dir"])
def test_every_rendering_is_deterministic_and_one_file(fmt: str) -> None:
    first = render(fmt, "Guide", SOURCE, PAGES)  # type: ignore[arg-type]
    second = render(fmt, "Guide", SOURCE, list(PAGES))  # type: ignore[arg-type]
    assert first == second
    assert len(first.files) == 1


def test_llms_txt_is_an_index_per_llmstxt_org() -> None:
    text = render("llms-txt", "Guide", SOURCE, PAGES).text
    lines = text.splitlines()
    assert lines[0] == "# Guide"
    assert lines[2] == "> Welcome to the guide. It explains everything."
    assert "## Docs" in lines
    assert "## API reference" in lines  # the folder's index page names its section
    assert lines.index("## Docs") < lines.index("## API reference")
    assert f"- [Intro]({SOURCE}intro.html): Start here: read this first." in lines
    assert f"- [Functions]({SOURCE}api/ref.html): Every function." in lines
    assert text.endswith(".\n")


def test_description_skips_structure_and_cuts_at_a_sentence() -> None:
    assert description("# T\n\n- a list\n\n```\ncode\n```\n\nProse here.") == "Prose here."
    long = "First sentence is short. " + "word " * 80
    assert description(long) == "First sentence is short."
    assert description("word " * 100).endswith("…")
    assert description("# Only a heading\n") == ""


def test_sections_group_by_top_folder_in_document_order() -> None:
    names = [(name, [p.title for p in members]) for name, members in llms_sections(SOURCE, PAGES)]
    assert names == [
        ("Docs", ["Guide", "Intro"]),
        ("API reference", ["API reference", "Functions"]),
    ]


def test_llms_full_holds_every_page_under_its_own_title() -> None:
    text = render("llms-full", "Guide", SOURCE, PAGES).text
    assert text.startswith("# Guide\n\n> Welcome to the guide. It explains everything.\n")
    for p in PAGES:
        assert f"\n---\n\n# {p.title}\n\nSource: {p.url}\n" in text
    assert text.count("# Intro") == 1  # the page's own H1 is not repeated
    assert "```python\nprint('hi')\n```" in text


def test_jsonl_has_one_object_per_page_with_the_named_fields() -> None:
    rendering = render("jsonl", "Guide", SOURCE, PAGES, encoding="cl100k_base")
    assert rendering.media_type.startswith("application/x-ndjson")
    rows = [json.loads(line) for line in rendering.text.splitlines()]
    assert [list(row) for row in rows] == [
        ["url", "title", "markdown", "tokens", "order", "fidelity"]
    ] * len(PAGES)
    assert [row["order"] for row in rows] == list(range(len(PAGES)))
    assert rows[0]["fidelity"] == {"links_html": 2}
    assert rows[1]["fidelity"] is None
    assert rows[1]["tokens"] == count_tokens(PAGES[1].markdown, "cl100k_base")
    assert rows[2]["markdown"] == PAGES[2].markdown


def test_dir_writes_one_file_per_page_and_a_manifest() -> None:
    rendering = render("dir", "Guide", SOURCE, PAGES)
    files = {f.path: f.content for f in rendering.files}
    manifest = json.loads(files.pop("manifest.json"))
    assert list(files) == [
        "pages/0001-index.md",
        "pages/0002-intro.md",
        "pages/0003-api.md",
        "pages/0004-api-ref.md",
    ]
    assert [entry["file"] for entry in manifest["pages"]] == list(files)
    assert manifest["encoding"] == "o200k_base"
    assert manifest["total_tokens"] == sum(e["tokens"] for e in manifest["pages"])
    assert files["pages/0002-intro.md"].startswith(f"# Intro\n\nSource: {SOURCE}intro.html\n\n")


def test_page_file_names_are_safe() -> None:
    assert page_file_name(0, "https://d.example/x/a b/ç.HTML?q", "https://d.example/") == (
        "pages/0001-x-a-b.md"
    )
    assert page_file_name(41, SOURCE, SOURCE) == "pages/0042-index.md"


def _long_pages() -> list[RenderPage]:
    sections = "\n\n".join(
        f"## Part {i}\n\n" + " ".join(f"word{j}" for j in range(120)) + f"\n\n```sh\necho {i}\n```"
        for i in range(12)
    )
    code = "```python\n" + "\n".join(f"x_{i} = {i}" for i in range(900)) + "\n```"
    return [
        page("", "Guide", "Short start."),
        page("long.html", "Long", sections),
        page("code.html", "Code", code),
        page("end.html", "End", "The end."),
    ]


@pytest.mark.parametrize("budget", [300, 1000, 5000])
def test_split_parts_stay_under_the_budget_and_keep_everything(budget: int) -> None:
    pages = _long_pages()
    rendering = render("markdown", "Guide", SOURCE, pages, max_tokens=budget, stem="guide")
    index, *parts = rendering.files
    assert index.path == "guide.md"
    assert [p.path for p in parts] == [f"guide.part-{n:03d}.md" for n in range(1, len(parts) + 1)]
    for number, part in enumerate(parts, 1):
        assert count_tokens(part.content) <= budget
        assert part.content.startswith(f"# Guide (part {number} of {len(parts)})\n")
        assert f"]({part.path})" in index.content
        lines = part.content.split("\n")
        for start, end in code_fence_spans(lines):  # every fence closed where it opened
            assert lines[end - 1].strip().startswith("```")
            assert end - start >= 2
    words = set(" ".join(part.content for part in parts).split())
    assert {word for p in pages for word in p.markdown.split()} <= words
    assert render("markdown", "Guide", SOURCE, pages, max_tokens=budget, stem="guide") == rendering


def test_split_breaks_between_pages_first() -> None:
    rendering = render("markdown", "Guide", SOURCE, PAGES, max_tokens=120)
    parts = rendering.files[1:]
    assert len(parts) > 1
    assert all("(continued)" not in part.content for part in parts)


def test_split_refuses_a_budget_too_small_and_other_formats() -> None:
    with pytest.raises(ValueError, match="at least"):
        render("markdown", "Guide", SOURCE, PAGES, max_tokens=10)
    with pytest.raises(ValueError, match="markdown"):
        render("jsonl", "Guide", SOURCE, PAGES, max_tokens=1000)


def test_boilerplate_leaves_every_rendering() -> None:
    footer = "Was this page helpful? Tell us on the forum."
    pages = [page(f"p{i}.html", f"P{i}", f"Text {i}.\n\n{footer}") for i in range(5)]
    for fmt in ("markdown", "llms-full", "jsonl"):
        assert "helpful" not in render(fmt, "Guide", SOURCE, pages).text  # type: ignore[arg-type]
    assert all("helpful" not in f.content for f in render("dir", "G", SOURCE, pages).files)


def _split_bodies(pages: list[RenderPage], budget: int) -> tuple[str, list[str]]:
    """The index and each part's section text (after its heading and source), checking that
    every part holds at most ``budget`` tokens and that the split is deterministic."""
    rendering = render("markdown", "Guide", SOURCE, pages, max_tokens=budget)
    assert render("markdown", "Guide", SOURCE, list(pages), max_tokens=budget) == rendering
    index, *parts = rendering.files
    assert all(count_tokens(part.content) <= budget for part in parts)
    marker = f"\nSource: {pages[0].url}\n\n"
    return index.content, [part.content.split(marker, 1)[1].strip("\n") for part in parts]


_WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]


@pytest.mark.parametrize(
    "construct",
    [
        "[the {w} section of the blog](https://d.example/{w}/)",
        "![the {w} diagram, drawn](https://d.example/{w}.png)",
        '[![{w} logo](https://d.example/{w}.svg) the {w} page](https://d.example/{w}/ "T {w}")',
        "`call {w} --with many arguments`",
        "<sup>note on {w} here</sup>",
        '<abbr title="the {w} thing">{w} abbr</abbr><br>',
    ],
)
def test_split_never_cuts_inside_an_inline_construct(construct: str) -> None:
    items = [construct.format(w=f"{w}{i}") for i in range(3) for w in _WORDS]
    body = "See " + ", ".join(items) + "."
    _, bodies = _split_bodies([page("links.html", "Links", body)], 150)
    assert len(bodies) > 2
    for number, text in enumerate(bodies):  # each part cut after ", ", between two items
        assert text.startswith("See " if number == 0 else construct.split("{w}")[0])
        assert text.endswith("." if number == len(bodies) - 1 else ",")
        rest = text
        for item in items:
            rest = rest.replace(item, "")
        assert re.sub(r"[\s,.]", "", rest) == ("See" if number == 0 else "")
    assert [sum(text.count(item) for text in bodies) for item in items] == [1] * len(items)
    assert " ".join(bodies).split() == body.split()  # a line break replaces each space cut at


def test_split_cuts_a_table_between_rows_and_repeats_its_header() -> None:
    header = ["| Name | Value |", "| :--- | ---: |"]
    rows = [f"| name {i} | [value {i}](https://d.example/v{i}) |" for i in range(40)]
    table = "\n".join(["Before the table.", *header, *rows])
    _, bodies = _split_bodies([page("table.html", "Table", table)], 150)
    assert len(bodies) > 2
    assert bodies[0].split("\n")[:4] == ["Before the table.", *header, rows[0]]
    kept: list[str] = []
    for number, text in enumerate(bodies):
        lines = text.split("\n")
        if number > 0:
            assert lines[:2] == header
        start = 3 if number == 0 else 2
        assert all(line in rows for line in lines[start:])
        kept.extend(lines[start:])
    assert kept == rows


@pytest.mark.parametrize(
    ("opening", "closing"),
    [("```python", "```"), ("~~~~ js title=x.js", "~~~~"), ("````", None)],
)
def test_split_cuts_a_long_code_block_and_refences_each_piece(
    opening: str, closing: str | None
) -> None:
    code = [f"value_{i} = compute({i}, 'some [text](here) `x`')  # <b>" for i in range(60)]
    fenced = "\n".join([opening, *code] + ([closing] if closing else []))
    _, bodies = _split_bodies([page("code.html", "Code", f"Some code.\n\n{fenced}")], 200)
    assert len(bodies) > 2
    assert bodies[0].startswith("Some code.\n\n")
    bodies[0] = bodies[0].removeprefix("Some code.\n\n")
    kept: list[str] = []
    for text in bodies:
        lines = text.split("\n")
        assert lines[0] == opening
        assert lines[-1] == (closing or "````")
        kept.extend(lines[1:-1])
    assert kept == code


def test_split_index_counts_one_part_or_several() -> None:
    index, bodies = _split_bodies(PAGES, 10_000)
    assert len(bodies) == 1
    assert "\nThe document in 1 part of at most 10,000 tokens (o200k_base), " in index
    index = render("markdown", "Guide", SOURCE, PAGES, max_tokens=120).files[0].content
    assert re.search(r"\nThe document in [2-9] parts of at most 120 tokens \(o200k_base\), ", index)
