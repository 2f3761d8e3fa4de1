"""Reading order and document assembly."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docspasta.core.assemble import (
    SectionPage,
    assemble_document,
    demote_headings,
    encode_order_key,
    iter_document,
    link_order,
    section_anchors,
    slugify,
)


@pytest.mark.parametrize(
    ("key", "encoded"),
    [((), ""), ((0,), "000000"), ((3, 12), "000003000012"), ((999999,), "999999")],
)
def test_encode_order_key(key: tuple[int, ...], encoded: str) -> None:
    assert encode_order_key(key) == encoded


def test_encoded_keys_sort_like_tuples() -> None:
    keys = [(), (0,), (0, 0), (0, 5), (1,), (1, 0, 2), (2,), (10,), (10, 1), (100,)]
    assert sorted(keys, key=encode_order_key) == sorted(keys)
    assert sorted(reversed(keys), key=encode_order_key) == keys


@pytest.mark.parametrize("bad", [(-1,), (1_000_000,)])
def test_encode_order_key_rejects_out_of_range(bad: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="out of range"):
        encode_order_key(bad)


def smallest_paths(root: str, edges: Mapping[str, Sequence[str]]) -> dict[str, tuple[int, ...]]:
    """The definition of link order: each node's smallest tuple of link positions from root,
    found Dijkstra-style (extending a tuple never makes it smaller)."""
    best: dict[str, tuple[int, ...]] = {root: ()}
    settled: set[str] = set()
    queue: list[tuple[tuple[int, ...], str]] = [((), root)]
    while queue:
        key, node = heapq.heappop(queue)
        if node in settled:
            continue
        settled.add(node)
        for position, child in enumerate(edges.get(node, ())):
            candidate = (*key, position)
            if child not in settled and (child not in best or candidate < best[child]):
                best[child] = candidate
                heapq.heappush(queue, (candidate, child))
    return best


def test_link_order_multiple_parents_and_cycle() -> None:
    edges = {
        "root": ["a", "b", "c"],
        "a": ["root", "d", "b"],  # back-link to root (cycle); b: (0, 2) via a beats (1,)
        "b": ["d", "e"],  # d: (0, 1) via a beats (0, 2, 0) via b
        "c": ["a", "f"],
        "d": ["a"],
        "e": [],
        "f": ["c"],  # cycle c <-> f
        "x": ["root"],  # not reachable from root
    }
    keys = smallest_paths("root", edges)
    assert keys == {
        "root": (),
        "a": (0,),
        "b": (0, 2),
        "c": (2,),
        "d": (0, 1),
        "e": (0, 2, 1),
        "f": (2, 1),
    }
    assert link_order("root", edges) == ["root", "a", "d", "b", "e", "c", "f"]


def test_link_order_prefers_a_smaller_path_found_later() -> None:
    # z is linked first from b (path (1, 0)) and deep under a (path (0, 5, 0)): the deep path
    # is the smaller tuple, so z comes in a's subtree although that path is longer.
    edges = {"root": ["a", "b"], "a": ["p", "q", "r", "s", "t", "y"], "y": ["z"], "b": ["z"]}
    assert smallest_paths("root", edges)["z"] == (0, 5, 0)
    assert link_order("root", edges) == ["root", "a", "p", "q", "r", "s", "t", "y", "z", "b"]
    assert link_order("root", {}) == ["root"]


def test_link_order_walks_a_long_chain() -> None:
    chain = {f"p{i}": [f"p{i + 1}", "p0"] for i in range(50_000)}  # no recursion limit
    order = link_order("p0", chain)
    assert order == [f"p{i}" for i in range(50_001)]


_NODES = [f"n{i}" for i in range(8)]


@settings(max_examples=1500, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(_NODES),
        st.lists(st.sampled_from([*_NODES, "outside"]), max_size=6),
    )
)
def test_link_order_is_the_order_of_smallest_link_paths(edges: dict[str, list[str]]) -> None:
    """Random graphs (cycles, self-links, repeated and dangling links): the walk's order is
    the nodes sorted by their smallest link path."""
    keys = smallest_paths("n0", edges)
    assert link_order("n0", edges) == sorted(keys, key=keys.__getitem__)


def test_slugs_and_unique_anchors() -> None:
    assert slugify("Hello, World! (v2)") == "hello-world-v2"
    assert slugify("  Über   uns ") == "über-uns"
    titles = ["Intro", "Intro", "API", "Contents", "", "intro"]
    assert section_anchors(titles, "My Docs") == [
        "intro",
        "intro-1",
        "api",
        "contents-1",
        "section",
        "intro-2",
    ]


PAGES = [
    SectionPage(
        url="https://docs.example.com/guide/",
        title="Guide",
        markdown=(
            "# Guide\n\nWelcome.\n\n## Install\n\n```bash\n# a shell comment\npip install x\n```\n"
        ),
    ),
    SectionPage(
        url="https://docs.example.com/guide/api.html",
        title="API [v2]",
        markdown="# Overview\n\nText.\n\n###### Deep\n\nEnd.\n",
    ),
]

GOLDEN = """\
# Example Docs

Source: https://docs.example.com/guide/

## Contents

- [Guide](#guide)
- [API \\[v2\\]](#api-v2)

## Guide

Source: https://docs.example.com/guide/

Welcome.

### Install

```bash
# a shell comment
pip install x
```

## API [v2]

Source: https://docs.example.com/guide/api.html

### Overview

Text.

###### Deep

End.
"""


def test_assemble_document_golden() -> None:
    document = assemble_document("Example Docs", "https://docs.example.com/guide/", PAGES)
    assert document == GOLDEN


def test_assemble_is_deterministic_and_streams_with_a_toc() -> None:
    first = assemble_document("Example Docs", "https://docs.example.com/guide/", PAGES)
    second = assemble_document("Example Docs", "https://docs.example.com/guide/", list(PAGES))
    assert first.encode() == second.encode()

    consumed: list[str] = []

    def lazy() -> Iterator[SectionPage]:
        for page in PAGES:
            consumed.append(page.title)
            yield page

    chunks = iter_document(
        "Example Docs", "https://docs.example.com/guide/", lazy(), toc=["Guide", "API [v2]"]
    )
    header = next(chunks)
    assert consumed == []  # the header needs only the titles
    assert header.endswith("- [API \\[v2\\]](#api-v2)\n")
    assert header + "".join(chunks) == first


def test_toc_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="does not match"):
        assemble_document("T", "https://e.com/", PAGES, toc=["Guide", "Other"])
    with pytest.raises(ValueError, match="3 pages, 2"):
        assemble_document("T", "https://e.com/", PAGES, toc=["Guide", "API [v2]", "More"])


def test_empty_document() -> None:
    assert assemble_document("T", "https://e.com/", []) == (
        "# T\n\nSource: https://e.com/\n\n## Contents\n"
    )


@pytest.mark.parametrize(
    ("markdown", "title", "expected"),
    [
        ("# Title\n\nText", "title", "Text"),
        ("#  TITLE  #\n\nText", "Title", "Text"),
        ("# Other\n\nText", "Title", "### Other\n\nText"),
        ("Intro\n\n# Title\n\n# Title", "Title", "Intro\n\n### Title"),
        ("## Sub\n### Subsub\n###### Six", "T", "### Sub\n#### Subsub\n###### Six"),
        ("```\n# Title\n## code\n```\n# Title", "Title", "```\n# Title\n## code\n```"),
        (
            "~~~md\n# x\n~~~\n#hashtag\n    # indented code",
            "T",
            "~~~md\n# x\n~~~\n#hashtag\n    # indented code",
        ),
    ],
)
def test_demote_headings(markdown: str, title: str, expected: str) -> None:
    assert demote_headings(markdown, title) == expected


def test_first_h1_with_link_and_code_matching_the_title_is_dropped() -> None:
    markdown = (
        '# [`json`](https://x.test/json.html#module-json "json: Encode") — JSON encoder\n\n'
        "Text.\n\n## Basic usage\n"
    )
    result = demote_headings(markdown, "json — JSON encoder")
    assert result.startswith("Text.")
    assert "### Basic usage" in result


def test_h1_link_whose_title_holds_parentheses_is_recognised() -> None:
    markdown = (
        '# [`readline`](https://x.test/r.html#module-readline "readline: GNU readline (Unix)")'
        " — GNU readline interface\n\nText.\n"
    )
    assert demote_headings(markdown, "readline — GNU readline interface") == "Text.\n"


def test_a_page_with_several_h1_keeps_its_hierarchy_under_the_section() -> None:
    markdown = "# Curses\n\nIntro.\n\n## Functions\n\n# Textpad\n\n## Objects\n"
    assert demote_headings(markdown, "Curses") == (
        "Intro.\n\n#### Functions\n\n### Textpad\n\n#### Objects\n"
    )


def test_a_page_without_h1_loses_its_top_heading_equal_to_the_title() -> None:
    from docspasta.core.assemble import demote_headings

    docbook = "## 25.1. Routine Vacuuming\n\nText.\n\n### 25.1.1. Basics\n\nMore.\n"
    assert demote_headings(docbook, "25.1. Routine Vacuuming") == (
        "Text.\n\n### 25.1.1. Basics\n\nMore.\n"
    )
    other = "## Setup\n\nText.\n\n### Details\n"
    assert demote_headings(other, "Guide") == "### Setup\n\nText.\n\n#### Details\n"
    nested = "### Deep first\n\n## Top later\n"
    assert demote_headings(nested, "Deep first") == "#### Deep first\n\n### Top later\n"
