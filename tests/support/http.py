"""A real HTTP server for crawl and fetch tests: routes, redirects, a directory, delays, gzip.

::

    with FixtureServer() as srv:
        srv.add("/", "<a href='/a'>a</a>")
        srv.add_redirect("/old", "/")
        ...  # fetch f"{srv.base_url}/old"
        assert srv.requests == ["/old", "/"]

It is a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (port chosen by the OS) running in a daemon
thread, speaking HTTP/1.1 with keep-alive. Routes win over files under ``root``; anything else
is a 404. ``stop()`` closes every connection and joins every thread, so tests leave nothing open.
A route with an ``ETag`` or ``Last-Modified`` header answers a matching conditional GET with
304 Not Modified.
"""

from __future__ import annotations

import contextlib
import gzip as gzip_module
import mimetypes
import socket
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Route:
    """What the server answers for one path."""

    body: bytes
    status: int = 200
    content_type: str | None = HTML
    headers: dict[str, str] = field(default_factory=dict)
    gzip: bool = False
    delay: float = 0.0
    chunked: bool = False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True  # server_close() joins the handler threads

    def __init__(self, fixture: FixtureServer) -> None:
        self.fixture = fixture
        self.open_sockets: set[socket.socket] = set()
        self.connection_count = 0
        self.sockets_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
            self.connection_count += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-answer is normal in tests: stay quiet."""

    def close_connections(self) -> None:
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection does not hold a thread forever
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """No request log on stderr."""

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        fixture = self.server.fixture
        fixture._record(self.path, {name.lower(): value for name, value in self.headers.items()})
        try:
            self._send(fixture, send_body=send_body)
        finally:
            fixture._done()

    def _send_not_modified(self, headers: dict[str, str]) -> None:
        self.send_response(HTTPStatus.NOT_MODIFIED)
        for name, value in headers.items():
            if name.lower() in ("etag", "last-modified"):
                self.send_header(name, value)
        self.end_headers()

    def _send(self, fixture: FixtureServer, *, send_body: bool) -> None:
        route = fixture._route_for(self.path)
        if route.delay:
            fixture._stopping.wait(route.delay)
        body = route.body
        headers = dict(route.headers)
        if _not_modified(route, self.headers):
            self._send_not_modified(headers)
            return
        wants_gzip = "gzip" in self.headers.get("Accept-Encoding", "").lower()
        if route.gzip and wants_gzip:
            body = gzip_module.compress(body)
            headers["Content-Encoding"] = "gzip"
        self.send_response(route.status)
        if route.content_type is not None:
            self.send_header("Content-Type", route.content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        lower_names = {name.lower() for name in headers}
        if route.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif "content-length" not in lower_names:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not send_body:
            return
        if route.chunked:
            for start in range(0, len(body), 65536):
                piece = body[start : start + 65536]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)


def _not_modified(route: Route, request: Any) -> bool:
    """A conditional GET of a 200 route whose ETag (If-None-Match) or Last-Modified
    (If-Modified-Since, compared as written) the client already holds."""
    if route.status != 200:
        return False
    validators = {name.lower(): value for name, value in route.headers.items()}
    etag, modified = validators.get("etag"), validators.get("last-modified")
    if_none_match = request.get("If-None-Match")
    if if_none_match is not None:
        return etag is not None and etag in [tag.strip() for tag in if_none_match.split(",")]
    return modified is not None and request.get("If-Modified-Since") == modified


class FixtureServer:
    """A local HTTP server answering from routes (``add``, ``add_redirect``) and ``root``."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root.resolve() if root is not None else None
        self._routes: dict[str, Route] = {}
        self._sequences: dict[str, list[Route]] = {}
        self._requests: list[str] = []
        self._request_times: list[float] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._request_headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FixtureServer:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fixture-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fixture server is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    # -- content ---------------------------------------------------------------------------

    def add(
        self,
        path: str,
        body: str | bytes,
        *,
        status: int = 200,
        content_type: str | None = HTML,
        headers: dict[str, str] | None = None,
        gzip: bool = False,
        delay: float = 0.0,
        chunked: bool = False,
    ) -> None:
        """Answer ``path`` (with its query, if it has one) with ``body``.

        ``gzip`` compresses when the client accepts gzip; ``delay`` waits before answering;
        ``chunked`` sends no Content-Length. ``headers`` may override Content-Length.
        """
        data = body.encode() if isinstance(body, str) else body
        route = Route(data, status, content_type, dict(headers or {}), gzip, delay, chunked)
        with self._lock:
            self._routes[path] = route

    def add_sequence(self, path: str, routes: list[Route]) -> None:
        """Answer ``path`` with each of ``routes`` in turn, then with the last one forever."""
        with self._lock:
            self._sequences[path] = list(routes)

    def add_redirect(self, path: str, location: str, status: int = 301) -> None:
        self.add(path, b"", status=status, content_type=None, headers={"Location": location})

    @property
    def requests(self) -> list[str]:
        """The request targets (path and query) received so far, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def request_headers(self) -> list[dict[str, str]]:
        """The headers of each request in ``requests`` (names lower-cased), in the same order."""
        with self._lock:
            return [dict(headers) for headers in self._request_headers]

    @property
    def request_times(self) -> list[float]:
        """``time.monotonic()`` at the arrival of each request in ``requests``."""
        with self._lock:
            return list(self._request_times)

    @property
    def max_in_flight(self) -> int:
        """The most requests the server was answering at the same time."""
        with self._lock:
            return self._max_in_flight

    @property
    def connections(self) -> int:
        """How many TCP connections the server has accepted."""
        if self._server is None:
            return 0
        with self._server.sockets_lock:
            return self._server.connection_count

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[str]:
        """The requests once at least ``count`` arrived (or ``timeout`` seconds passed)."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.requests

    # -- used by the handler threads -------------------------------------------------------

    def _record(self, target: str, headers: dict[str, str]) -> None:
        with self._lock:
            self._requests.append(target)
            self._request_headers.append(headers)
            self._request_times.append(time.monotonic())
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _route_for(self, target: str) -> Route:
        path = urlsplit(target).path
        with self._lock:
            sequence = self._sequences.get(target) or self._sequences.get(path)
            if sequence:
                return sequence.pop(0) if len(sequence) > 1 else sequence[0]
            route = self._routes.get(target) or self._routes.get(path)
        if route is not None:
            return route
        return self._file_route(unquote(path)) or Route(b"not found", 404, "text/plain")

    def _file_route(self, path: str) -> Route | None:
        if self.root is None:
            return None
        candidate = (self.root / path.lstrip("/")).resolve()
        if not candidate.is_relative_to(self.root):
            return None
        if candidate.is_dir():
            if not path.endswith("/"):
                return Route(b"", HTTPStatus.MOVED_PERMANENTLY, None, {"Location": path + "/"})
            candidate = candidate / "index.html"
        if not candidate.is_file():
            return None
        content_type, _ = mimetypes.guess_type(candidate.name)
        if content_type is None:
            content_type = "application/octet-stream"
        elif content_type.startswith("text/") or content_type.endswith(("xml", "json")):
            content_type += "; charset=utf-8"
        return Route(candidate.read_bytes(), 200, content_type)
