"""Cross-page boilerplate: found on most pages, removed, never a heading or a code block."""

from __future__ import annotations

from docspasta.core.blocks import BlockKind, markdown_blocks
from docspasta.core.boilerplate import MIN_PAGES, boilerplate_blocks, strip_boilerplate

FOOTER = "Edit this page on GitHub\n- Previous\n- Next"


def pages(count: int, extra: str = FOOTER) -> list[str]:
    return [
        f"# Page {i}\n\nIntro {i}.\n\n## Usage\n\n```sh\nrun --all\n```\n\n{extra}\n\nEnd {i}.\n"
        for i in range(count)
    ]


def test_blocks_split_headings_code_and_text() -> None:
    lines = ["# T", "", "some text", "more", "```py", "x", "", "y", "```", "## H", "| a |", ""]
    kinds = [(b.kind, b.start, b.end) for b in markdown_blocks(lines)]
    assert kinds == [
        (BlockKind.HEADING, 0, 1),
        (BlockKind.TEXT, 2, 4),
        (BlockKind.CODE, 4, 9),
        (BlockKind.HEADING, 9, 10),
        (BlockKind.TEXT, 10, 11),
    ]


def test_a_block_on_most_pages_is_removed_and_blank_lines_collapse() -> None:
    texts = pages(6)
    found = boilerplate_blocks(texts)
    assert len(found) == 1
    stripped = strip_boilerplate(texts[0], found)
    assert stripped == "# Page 0\n\nIntro 0.\n\n## Usage\n\n```sh\nrun --all\n```\n\nEnd 0.\n"


def test_headings_code_and_first_blocks_always_stay() -> None:
    texts = [
        f"Same first line.\n\n## Usage\n\n```sh\nrun --all\n```\n\nOwn {i}.\n" for i in range(8)
    ]
    assert boilerplate_blocks(texts) == frozenset()


def test_few_pages_or_a_minority_remove_nothing() -> None:
    assert boilerplate_blocks(pages(MIN_PAGES - 1)) == frozenset()
    minority = pages(4) + pages(6, extra="Own text.")
    assert boilerplate_blocks(minority) == frozenset({*boilerplate_blocks(pages(6, "Own text."))})
    assert strip_boilerplate(minority[0], boilerplate_blocks(minority)) == minority[0]


def test_whitespace_differences_still_match_and_order_does_not_matter() -> None:
    texts = pages(3) + pages(2, extra="Edit this page on   GitHub\n- Previous\n-  Next")
    assert boilerplate_blocks(texts) == boilerplate_blocks(list(reversed(texts)))
    assert len(boilerplate_blocks(texts)) == 1


def test_code_blocks_with_blank_lines_are_untouched() -> None:
    body = "```\na\n\n\nb\n```"
    texts = [f"# P{i}\n\n{body}\n\nFooter line.\n" for i in range(5)]
    assert strip_boilerplate(texts[0], boilerplate_blocks(texts)) == f"# P0\n\n{body}\n"
