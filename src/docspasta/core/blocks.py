"""A page's markdown as a sequence of blocks: headings, fenced code blocks and text blocks.

Blocks are runs of lines: a fenced code block (fences included) is one block, an ATX heading line
is one block, and any other run of non-blank lines is a text block (a paragraph, a list, a table,
a quote). Blank lines outside code separate blocks and belong to none. Cross-page boilerplate
removal (:mod:`docspasta.core.boilerplate`) and the token-budget split
(:mod:`docspasta.core.split`) work on these blocks, so neither ever cuts a code block or a heading.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from docspasta.core.markdown import code_fence_spans

_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")


class BlockKind(Enum):
    HEADING = "heading"
    CODE = "code"
    TEXT = "text"


@dataclass(frozen=True)
class Block:
    """Lines ``start`` (included) to ``end`` (excluded) of the page's markdown."""

    start: int
    end: int
    kind: BlockKind


def markdown_blocks(lines: Sequence[str]) -> list[Block]:
    """The blocks of ``lines`` (a markdown text split on ``\\n``), in order."""
    fences = {start: end for start, end in code_fence_spans(lines)}
    blocks: list[Block] = []
    count = len(lines)
    index = 0
    while index < count:
        line = lines[index]
        if index in fences:
            blocks.append(Block(index, fences[index], BlockKind.CODE))
            index = fences[index]
        elif not line or line.isspace():
            index += 1
        elif "#" in line[:4] and _ATX_HEADING.match(line):
            blocks.append(Block(index, index + 1, BlockKind.HEADING))
            index += 1
        else:
            end = index + 1
            while end < count:
                following = lines[end]
                if (
                    not following
                    or following.isspace()
                    or end in fences
                    or ("#" in following[:4] and _ATX_HEADING.match(following))
                ):
                    break
                end += 1
            blocks.append(Block(index, end, BlockKind.TEXT))
            index = end
    return blocks


def block_text(lines: Sequence[str], block: Block) -> str:
    return "\n".join(lines[block.start : block.end])
