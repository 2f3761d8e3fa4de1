"""Cross-page boilerplate: found on most pages, removed, never a heading or a code block."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docspasta.core.blocks import BlockKind, markdown_blocks
from docspasta.core.boilerplate import (
    MIN_PAGES,
    block_keys,
    boilerplate_blocks,
    pack_keys,
    strip_boilerplate,
    unpack_keys,
)

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


def test_text_a_page_repeats_is_content_everywhere() -> None:
    # Sphinx writes "New in version 3.3." under every function it concerns: on most pages once,
    # on some several times. It is the pages' own text, never boilerplate.
    note = "New in version 3.3."
    texts = [
        f"# P{i}\n\nIntro {i}.\n\n## f{i}\n\nDoes f{i}.\n\n{note}\n\nEnd {i}.\n" for i in range(6)
    ] + [f"# Q\n\nIntro.\n\n## g\n\n{note}\n\n## h\n\n{note}\n\nEnd.\n"]
    assert boilerplate_blocks(texts) == frozenset()
    assert strip_boilerplate(texts[0], boilerplate_blocks(texts)) == texts[0]


def test_rules_and_mid_page_blocks_are_not_boilerplate() -> None:
    middle = "A sentence every page holds in its middle."
    texts = [
        "\n\n".join(
            [f"# P{i}", "Intro.", "One.", "Two.", "Three.", "---", middle, "Four.", "Five.", "Six."]
        )
        + "\n"
        for i in range(6)
    ]
    # "---" has no word; the middle block is not among the three text blocks at either end.
    assert boilerplate_blocks(texts) == frozenset(
        boilerplate_blocks([t.replace(middle, f"own {i}") for i, t in enumerate(texts)])
    )
    assert strip_boilerplate(texts[0], boilerplate_blocks(texts)).count("---") == 1
    assert middle in strip_boilerplate(texts[0], boilerplate_blocks(texts))


@given(
    st.lists(
        st.sampled_from(["Was this helpful?", "New in 3.3.", "Text.", "---", "# Head", "Other."]),
        max_size=12,
    )
)
def test_packed_keys_unpack_to_the_same_keys(blocks: list[str]) -> None:
    keys = block_keys("\n\n".join(["First block.", *blocks]))
    assert unpack_keys(pack_keys(keys)) == keys


def test_unpack_refuses_what_pack_did_not_give() -> None:
    for packed in (b"", b"\x01", b"\x00" + b"k" * 15, b"\x02" + b"k" * 16):
        with pytest.raises(ValueError, match="not packed page keys"):
            unpack_keys(packed)
