"""A small asyncio static file server for the benchmark, so serving is never the bottleneck.

HTTP/1.1 with keep-alive, GET and HEAD only, files read once and kept in memory. Directories
serve their ``index.html``. Run as a script it binds 127.0.0.1 on a free port (or ``--port``),
prints the port on one line, and serves until killed::

    python bench/staticserver.py ROOT [--port N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import mimetypes
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

_MAX_HEAD = 16 * 1024
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}


class StaticFiles:
    """Files under ``root`` by URL path, read from disk once. ``None`` means 404."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[str, tuple[bytes, str] | None] = {}

    def get(self, url_path: str) -> tuple[bytes, str] | None:
        """The body and content type of ``url_path``; ``None`` when there is no such file."""
        if url_path not in self._cache:
            self._cache[url_path] = self._load(url_path)
        return self._cache[url_path]

    def _load(self, url_path: str) -> tuple[bytes, str] | None:
        path = (self.root / unquote(url_path).lstrip("/")).resolve()
        if not path.is_relative_to(self.root):
            return None
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            return None
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        return path.read_bytes(), content_type


def _response(status: int, body: bytes, content_type: str, *, head: bool, close: bool) -> bytes:
    headers = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
    )
    return headers.encode("latin-1") + (b"" if head else body)


async def _serve_connection(
    files: StaticFiles, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines[1:] if line)
            }
            close = headers.get("connection", "").lower() == "close" or (
                len(parts) == 3 and parts[2] == "HTTP/1.0"
            )
            if len(parts) != 3:
                writer.write(_response(400, b"", "text/plain", head=False, close=True))
                await writer.drain()
                return
            method, target = parts[0], parts[1]
            if method not in ("GET", "HEAD"):
                status, body, content_type = 405, b"", "text/plain"
            elif (found := files.get(urlsplit(target).path or "/")) is None:
                status, body, content_type = 404, b"not found", "text/plain"
            else:
                status, (body, content_type) = 200, found
            writer.write(_response(status, body, content_type, head=method == "HEAD", close=close))
            await writer.drain()
            if close:
                return
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def serve(root: Path, port: int) -> None:
    """Serve ``root`` on 127.0.0.1:``port`` (0: any free port) forever, printing the port."""
    files = StaticFiles(root)
    server = await asyncio.start_server(
        lambda r, w: _serve_connection(files, r, w),
        "127.0.0.1",
        port,
        limit=_MAX_HEAD,
        backlog=1024,
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.root, args.port))
    sys.exit(0)


if __name__ == "__main__":
    main()
