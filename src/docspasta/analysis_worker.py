"""An analysis worker process, started by :class:`docspasta.analysis.Analyzer`.

It reads requests from its standard input and writes their answers to its standard output,
one reply per request, in order. Each message is a 4-byte big-endian length and a pickle:

- a page: ``("page", html: bytes, url: str, encoding: str | None, options: PageOptions,
  tokens: bool)``, answered with its ``PageAnalysis`` (tokens counted when ``tokens``);
- a token count: ``("tokens", text: str, encoding: TokenEncoding)``, answered with an ``int``;
- reply: ``(True, answer)``, or ``(False, exception)`` when the work raised.

The worker that counts the crawl's tokens (:class:`docspasta.analysis.Analyzer` makes one of them
do it) is started with ``--tokens``: it builds the default tiktoken encoding before it reads its
first request, while the crawl process is still starting. ``docspasta crawl`` starts it even
before it imports its command line (:func:`start_counter`), and its analyzer takes it.

It imports the crawler core and the standard library only: no pydantic, no asyncio, no
database driver. That keeps a worker at ~40 MB before its first page (a ``multiprocessing``
worker re-imports its parent's main module and the pickled options' pydantic model: ~57 MB).

It dies with its parent: it asks the kernel for SIGKILL when the parent goes away
(``PR_SET_PDEATHSIG``), and it exits when its standard input closes. Ctrl-C reaches the whole
process group; the parent decides, so a worker ignores SIGINT.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import struct
import subprocess
import sys
import traceback
from typing import Any, BinaryIO

_PR_SET_PDEATHSIG = 1
HEADER = struct.Struct(">I")
#: How a worker starts: the parent's ``sys.path`` (``-I`` leaves out the environment's and the
#: current directory's), then :func:`main`.
_BOOT = (
    "import sys; sys.path[:] = sys.argv[3:]; "
    "from docspasta.analysis_worker import main; main(int(sys.argv[1]), sys.argv[2])"
)
#: The token counter started before the command line was imported (:func:`start_counter`).
_early: subprocess.Popen[bytes] | None = None


def command(counts: bool) -> list[str]:
    """The command line of a worker of this process (``counts``: the token counter)."""
    return [
        sys.executable,
        "-I",
        "-c",
        _BOOT,
        str(os.getpid()),
        "--tokens" if counts else "-",
        *sys.path,
    ]


def start_counter() -> subprocess.Popen[bytes]:
    """Start the token counter now, for this process's next ``Analyzer`` to take
    (:func:`take_counter`). ``docspasta crawl`` calls it first thing: the counter then builds
    its encoding (~0.25 s) while the command line and the crawl runtime are imported, instead
    of after, when the start page's analysis would wait for it. If no analyzer takes it, it
    exits when this process does (its pipe closes, or ``PR_SET_PDEATHSIG``)."""
    global _early
    _early = subprocess.Popen(command(True), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    return _early


def take_counter() -> subprocess.Popen[bytes] | None:
    """The counter :func:`start_counter` started, once, if it is still running."""
    global _early
    early, _early = _early, None
    if early is not None and early.poll() is not None:
        for pipe in (early.stdin, early.stdout):
            if pipe is not None:
                pipe.close()
        return None
    return early


def _die_with(parent: int) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _protocol_streams() -> tuple[BinaryIO, BinaryIO]:
    """The protocol's pipes, moved off fds 0 and 1: a stray ``print`` (ours or a library's)
    then goes to stderr instead of corrupting the replies."""
    requests = os.fdopen(os.dup(0), "rb", buffering=1 << 20)
    replies = os.fdopen(os.dup(1), "wb", buffering=1 << 20)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return requests, replies


def _reply(replies: BinaryIO, ok: bool, value: object) -> None:
    try:
        payload = pickle.dumps((ok, value), pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # something that does not pickle: send the error's text
        cause = value if isinstance(value, BaseException) else exc
        text = "".join(traceback.format_exception(cause))
        payload = pickle.dumps((False, RuntimeError(text)), pickle.HIGHEST_PROTOCOL)
    replies.write(HEADER.pack(len(payload)))
    replies.write(payload)
    replies.flush()


def _answer(request: tuple[Any, ...]) -> object:
    from docspasta.core.page import analyze_page
    from docspasta.core.tokens import count_tokens

    match request:
        case ("page", html, url, encoding, options, tokens):
            return analyze_page(html, url, encoding=encoding, options=options, tokens=tokens)
        case ("tokens", text, encoding):
            return count_tokens(text, encoding)
    raise ValueError(f"not a request: {request[:1]!r}")


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """Answer requests until ``requests`` ends."""
    while True:
        header = requests.read(HEADER.size)
        if len(header) < HEADER.size:
            return  # the parent closed the pipe: we are done
        (size,) = HEADER.unpack(header)
        body = requests.read(size)
        if len(body) < size:
            return
        try:
            answer = _answer(pickle.loads(body))
        except Exception as exc:
            exc.add_note("(raised in an analysis worker process)")
            _reply(replies, False, exc)
        else:
            _reply(replies, True, answer)


def main(parent: int, *flags: str) -> None:
    """Serve the parent process ``parent`` until it closes our standard input; ``--tokens``:
    build the default token encoding first."""
    _die_with(parent)
    requests, replies = _protocol_streams()
    if "--tokens" in flags:
        from docspasta.core.tokens import DEFAULT_ENCODING, encoding

        # An encoding that cannot be built (its data file missing) must not kill the worker at
        # boot, to be started again and again: the first count raises the error in a reply.
        with contextlib.suppress(Exception):
            encoding(DEFAULT_ENCODING)
    import docspasta.core.page  # noqa: F401  (before the first page: the imports take ~0.1 s)

    with contextlib.suppress(BrokenPipeError):  # the parent stopped reading: it is closing
        serve(requests, replies)
    # Every reply is flushed: exit at once rather than free the interpreter object by object
    # (~60 ms with an encoding, and the crawl waits for it when the workers rest at finalize).
    os._exit(0)
