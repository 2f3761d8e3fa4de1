"""Token and word counts."""

from __future__ import annotations

import pytest

from docspasta.core.tokens import count_tokens, count_words


def test_known_token_counts() -> None:
    assert count_tokens("hello world") == 2
    assert count_tokens("") == 0
    assert count_tokens("hello world hello world") == 4


def test_special_token_text_is_counted_not_refused() -> None:
    assert count_tokens("<|endoftext|>") > 1


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", 0),
        ("hello world", 2),
        ("  don't   stop\nbelieving ", 3),
        ("## Heading\n\n- item one", 3),
        ("e.g. v1.2 state-of-the-art", 3),
    ],
)
def test_count_words(text: str, words: int) -> None:
    assert count_words(text) == words
