"""The guarded fetcher: one GET, redirects followed hop by hop, the body capped and decoded.

``Fetcher`` owns one ``httpx2.AsyncClient`` whose only transport is an httpcore2 connection pool
over ``GuardedBackend``. The client never reads proxies or certificates from the environment
(``trust_env=False``), keeps no cookies and never follows redirects itself: ``Fetcher.fetch``
follows them, refusing any hop that leaves http/https, and the guard re-checks every address at
connect time. httpx2/httpcore2 exceptions are translated into ``docspasta.errors`` here.

Each hop waits for its host's turn (:class:`~docspasta.fetch.politeness.HostThrottle`) unless
the caller asks for no politeness; a 429/503 with Retry-After pauses that host. Private
headers (``HostHeaders``) are added only on hops to their own host, never on a downgrade to
plain http, and never logged.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import ssl
import time
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import MappingProxyType, TracebackType

import httpcore2
import httpx2

from docspasta.errors import (
    BlockedURLError,
    BodyTooLargeError,
    FetchError,
    GuardRefusedError,
    InvalidOptionError,
)
from docspasta.fetch.guard import (
    GuardedBackend,
    Resolver,
    first_refusal,
    normalise_host,
    resolve,
)
from docspasta.fetch.politeness import MAX_RETRY_AFTER, HostThrottle, Politeness, parse_retry_after

logger = logging.getLogger(__name__)

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Only encodings whose decoder can be bounded (zlib's max_length) are asked for.
_ACCEPT_ENCODING = "gzip, deflate"
_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,text/plain;q=0.8,*/*;q=0.5"
_RETRY_AFTER_STATUSES = frozenset({429, 503})
#: Byte-order marks, longest first (UTF-32 LE starts like UTF-16 LE); a BOM wins over headers.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def bom_charset(body: bytes) -> str | None:
    """The charset a body's byte-order mark declares (``utf-8``, ``utf-16``, ``utf-32``)."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    return None


@dataclass(frozen=True)
class HostHeaders:
    """Headers (private docs: auth, cookies) for one host only.

    They go with a request whose host is ``host`` (port ignored), and not when the request
    would carry them over plain http while the start URL was https. ``repr`` hides values.
    """

    scheme: str
    host: str
    headers: tuple[tuple[str, str], ...]

    @classmethod
    def for_url(cls, url: str, headers: Mapping[str, str]) -> HostHeaders | None:
        """Headers for ``url``'s host, or None when there are none."""
        if not headers:
            return None
        parsed = httpx2.URL(url)
        return cls(parsed.scheme, normalise_host(parsed.host), tuple(headers.items()))

    def applies_to(self, target: httpx2.URL) -> bool:
        if normalise_host(target.host) != self.host:
            return False
        return not (self.scheme == "https" and target.scheme != "https")

    def __repr__(self) -> str:
        names = ", ".join(name for name, _ in self.headers)
        return f"HostHeaders({self.scheme}://{self.host}, [{names}])"


@dataclass(frozen=True)
class Validators:
    """A stored response's validators, sent back to ask "only if it changed" (RFC 9110 13.1):
    the server answers 304 Not Modified, with no body, when the page is unchanged."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True)
class FetchConfig:
    """How the fetcher behaves. ``allow_private_hosts`` opens the guard for exactly those hosts
    (compared with the URL's literal host, e.g. ``"127.0.0.1"``); it is empty by default.

    ``max_connections`` is the global limit of open connections. ``resolver`` replaces the
    system's name resolution and ``network_backend`` the backend under the guard: tests use
    them to make names resolve anywhere and to see every connection attempt.
    """

    allow_private_hosts: frozenset[str] = frozenset()
    user_agent: str = "docspasta/0.1 (+https://github.com/docspasta/docspasta)"
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 10
    max_connections: int = 32
    extra_headers: tuple[tuple[str, str], ...] = ()
    max_retry_after: float = MAX_RETRY_AFTER
    """A 429/503 Retry-After up to this pauses the host; a longer one pauses nothing (the
    crawler gives that page up rather than stall every page of the host)."""
    resolver: Resolver | None = None
    network_backend: httpcore2.AsyncNetworkBackend | None = None


@dataclass(frozen=True)
class FetchResult:
    """The final response of one fetch.

    ``redirects`` lists, in order, every URL that answered with a redirect (the requested URL
    first); it is empty when the first response was final. ``headers`` has lower-cased names
    (repeated headers joined with ``", "``); ``body`` is the content-decoded body. ``charset``
    comes from a byte-order mark when the body has one, else from Content-Type.
    ``retry_after`` is the Retry-After of a 429 or 503 answer, in seconds.
    """

    url: str
    final_url: str
    status: int
    headers: Mapping[str, str]
    content_type: str
    charset: str | None
    body: bytes
    redirects: tuple[str, ...]
    retry_after: float | None = None


def parse_content_type(value: str | None) -> tuple[str, str | None]:
    """The lower-cased media type and charset of a Content-Type value (``("", None)`` if absent)."""
    if not value:
        return "", None
    media_type, _, parameters = value.partition(";")
    charset: str | None = None
    for parameter in parameters.split(";"):
        name, equals, raw = parameter.partition("=")
        if equals and name.strip().lower() == "charset":
            charset = raw.strip().strip("\"'").strip().lower() or None
    return media_type.strip().lower(), charset


class _BoundedDecoder:
    """Undoes a Content-Encoding without ever holding more than ``limit`` + 1 decoded bytes."""

    def __init__(self, url: str, encoding: str, limit: int) -> None:
        self._url = url
        self._limit = limit
        self._produced = 0
        self._raw_deflate_fallback = False
        name = encoding.strip().lower()
        if name in ("", "identity"):
            self._zlib = None
        elif name in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif name == "deflate":
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
            self._raw_deflate_fallback = True
        else:
            raise FetchError(url, f"unsupported content-encoding {name!r}")

    def _count(self, data: bytes) -> bytes:
        self._produced += len(data)
        if self._produced > self._limit:
            raise BodyTooLargeError(self._url, self._limit)
        return data

    def feed(self, data: bytes) -> bytes:
        if self._zlib is None:
            return self._count(data)
        if self._raw_deflate_fallback:
            # "deflate" is zlib-wrapped by the standard, raw deflate by some servers.
            self._raw_deflate_fallback = False
            try:
                return self._inflate(data)
            except zlib.error:
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._inflate(data)

    def _inflate(self, data: bytes) -> bytes:
        assert self._zlib is not None
        parts: list[bytes] = []
        while data and not self._zlib.eof:
            budget = self._limit - self._produced + 1
            parts.append(self._count(self._zlib.decompress(data, budget)))
            data = self._zlib.unconsumed_tail
        return b"".join(parts)

    def flush(self) -> bytes:
        if self._zlib is None:
            return b""
        return self._count(self._zlib.flush())


class _CoreResponseStream(httpx2.AsyncByteStream):
    def __init__(self, response: httpcore2.Response) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        stream = self._response.stream
        assert isinstance(stream, AsyncIterable)
        async for part in stream:
            yield part

    async def aclose(self) -> None:
        await self._response.aclose()


class _GuardedTransport(httpx2.AsyncBaseTransport):
    """httpx2's default transport minus proxies, over a pool whose backend is the guard.

    httpcore2 exceptions pass through untranslated; ``Fetcher`` translates them.
    """

    def __init__(self, config: FetchConfig) -> None:
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx2.create_ssl_context(trust_env=False),
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_connections,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(
                config.allow_private_hosts,
                resolver=config.resolver,
                inner=config.network_backend,
            ),
        )

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        assert isinstance(request.stream, httpx2.AsyncByteStream)
        core_request = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        response = await self._pool.handle_async_request(core_request)
        return httpx2.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_CoreResponseStream(response),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


def _is_certificate_failure(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc.__context__
    return isinstance(cause, ssl.SSLError)


@contextmanager
def _translated(url: str) -> Iterator[None]:
    """Turn httpx2/httpcore2 failures while fetching ``url`` into ``FetchError``."""
    try:
        yield
    except GuardRefusedError as exc:
        if exc.url == url:
            raise
        raise GuardRefusedError(url, exc.rule) from exc
    except (httpcore2.TimeoutException, httpx2.TimeoutException) as exc:
        raise FetchError(url, f"timed out ({type(exc).__name__})", retryable=True) from exc
    except (
        httpcore2.NetworkError,
        httpcore2.RemoteProtocolError,
        httpx2.NetworkError,
        httpx2.RemoteProtocolError,
    ) as exc:
        retryable = not _is_certificate_failure(exc)
        raise FetchError(url, f"connection failed: {exc}", retryable=retryable) from exc
    except (httpcore2.ProtocolError, httpcore2.UnsupportedProtocol, httpx2.HTTPError) as exc:
        raise FetchError(url, f"HTTP protocol error: {exc}") from exc
    except httpx2.InvalidURL as exc:
        raise FetchError(url, f"invalid URL: {exc}") from exc
    except zlib.error as exc:
        raise FetchError(url, f"content could not be decoded: {exc}") from exc


def _parse_url(url: str | httpx2.URL) -> httpx2.URL:
    try:
        return url if isinstance(url, httpx2.URL) else httpx2.URL(url)
    except httpx2.InvalidURL as exc:
        raise FetchError(str(url), f"invalid URL: {exc}") from exc


def _check_hop(target: httpx2.URL, *, redirected: bool) -> None:
    """Refuse a URL the fetcher must not request (scheme, host, credentials)."""
    url = str(target)
    error = GuardRefusedError if redirected else FetchError
    if target.scheme not in _SCHEMES:
        raise error(url, f"scheme {target.scheme!r} is not http or https")
    if not target.raw_host:
        raise error(url, "the URL has no host")
    if target.userinfo:
        raise error(url, "the URL carries credentials")


class Fetcher:
    """The only egress of the crawler: guarded GETs through one pooled ``httpx2.AsyncClient``.

    Use as ``async with Fetcher(config) as fetcher``; ``fetch`` may be called concurrently.
    """

    def __init__(self, config: FetchConfig) -> None:
        self._config = config
        self._client: httpx2.AsyncClient | None = None
        self._throttle = HostThrottle()

    async def __aenter__(self) -> Fetcher:
        config = self._config
        headers = {"User-Agent": config.user_agent, "Accept": _ACCEPT}
        headers.update(config.extra_headers)
        headers["Accept-Encoding"] = _ACCEPT_ENCODING
        client = httpx2.AsyncClient(
            transport=_GuardedTransport(config),
            trust_env=False,
            follow_redirects=False,
            headers=headers,
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            timeout=httpx2.Timeout(
                connect=config.connect_timeout,
                read=config.read_timeout,
                write=config.read_timeout,
                pool=config.connect_timeout,
            ),
        )
        self._client = await client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.__aexit__(exc_type, exc, traceback)

    async def fetch(
        self,
        url: str,
        *,
        politeness: Politeness | None = None,
        private_headers: HostHeaders | None = None,
        revalidate: Validators | None = None,
    ) -> FetchResult:
        """GET ``url``, following redirects, and return the final response whatever its status.

        Each hop first waits for its host's turn under ``politeness`` (None: no limit but a
        Retry-After pause); the time spent waiting does not count against ``total_timeout``.
        ``private_headers`` go only to their host. ``revalidate`` makes the request
        conditional (every hop): an unchanged page is then a 304 result with an empty body,
        not an error. Network errors, timeouts (per phase and
        ``total_timeout`` overall), guard refusals (``GuardRefusedError``) and size caps
        (``BodyTooLargeError``) raise ``FetchError`` subclasses; ``retryable`` is True for
        timeouts and connection failures.
        """
        if self._client is None:
            raise RuntimeError("Fetcher.fetch() called outside 'async with Fetcher(...)'")
        conditional = revalidate.headers() if revalidate is not None else {}
        return await self._follow(self._client, url, politeness, private_headers, conditional)

    async def _hop(
        self,
        client: httpx2.AsyncClient,
        target: httpx2.URL,
        politeness: Politeness | None,
        private_headers: HostHeaders | None,
        budget: float,
        conditional: Mapping[str, str],
    ) -> tuple[httpx2.Response, bytes, str | None, float]:
        """One request within ``budget`` seconds (waiting for the host's turn not counted).

        Returns the response (closed), its body (empty for a redirect), its Location (None
        unless it redirects) and the seconds it took.
        """
        current = str(target)
        headers = dict(conditional) or None
        if private_headers is not None and private_headers.applies_to(target):
            headers = {**(headers or {}), **dict(private_headers.headers)}
        host_key = f"{normalise_host(target.host)}:{target.port or _DEFAULT_PORTS[target.scheme]}"
        async with self._throttle.slot(host_key, politeness):
            started = time.monotonic()
            try:
                async with asyncio.timeout(budget):
                    with _translated(current):
                        request = client.build_request("GET", target, headers=headers)
                        response = await client.send(request, stream=True)
                        try:
                            location = response.headers.get("location")
                            redirected = response.status_code in _REDIRECT_STATUSES
                            redirected = redirected and bool(location)
                            body = b"" if redirected else await self._read_body(response, current)
                        finally:
                            await response.aclose()
            except TimeoutError as exc:
                reason = f"no complete answer within {self._config.total_timeout}s"
                raise FetchError(current, reason, retryable=True) from exc
            spent = time.monotonic() - started
        if response.status_code in _RETRY_AFTER_STATUSES:
            delay = parse_retry_after(response.headers.get("retry-after"))
            if delay is not None and delay <= self._config.max_retry_after:
                self._throttle.pause(host_key, delay)
        return response, body, location if redirected else None, spent

    async def _follow(
        self,
        client: httpx2.AsyncClient,
        url: str,
        politeness: Politeness | None,
        private_headers: HostHeaders | None,
        conditional: Mapping[str, str],
    ) -> FetchResult:
        target = _parse_url(url)
        _check_hop(target, redirected=False)
        chain: list[str] = []
        budget = self._config.total_timeout
        while True:
            current = str(target)
            response, body, location, spent = await self._hop(
                client, target, politeness, private_headers, max(budget, 0.001), conditional
            )
            budget -= spent
            if location:
                chain.append(current)
                target = self._next_hop(target, location, len(chain))
                continue
            media_type, charset = parse_content_type(response.headers.get("content-type"))
            charset = bom_charset(body) or charset
            retry_after = None
            if response.status_code in _RETRY_AFTER_STATUSES:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            logger.debug(
                "fetched %s: %s, %d bytes, %d redirects",
                current,
                response.status_code,
                len(body),
                len(chain),
            )
            return FetchResult(
                url=url,
                final_url=current,
                status=response.status_code,
                headers=MappingProxyType(dict(response.headers.items())),
                content_type=media_type,
                charset=charset,
                body=body,
                redirects=tuple(chain),
                retry_after=retry_after,
            )

    def _next_hop(self, target: httpx2.URL, location: str, hops: int) -> httpx2.URL:
        if hops > self._config.max_redirects:
            raise FetchError(str(target), f"more than {self._config.max_redirects} redirects")
        try:
            next_target = target.join(location)
        except httpx2.InvalidURL as exc:
            raise FetchError(str(target), f"invalid redirect location: {exc}") from exc
        _check_hop(next_target, redirected=True)
        logger.debug("redirect %s -> %s", target, next_target)
        return next_target

    async def _read_body(self, response: httpx2.Response, url: str) -> bytes:
        limit = self._config.max_body_bytes
        declared = response.headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > limit:
            raise BodyTooLargeError(url, limit)
        decoder = _BoundedDecoder(url, response.headers.get("content-encoding", ""), limit)
        parts: list[bytes] = []
        raw_size = 0
        async for chunk in response.aiter_raw():
            raw_size += len(chunk)
            if raw_size > limit:
                raise BodyTooLargeError(url, limit)
            parts.append(decoder.feed(chunk))
        parts.append(decoder.flush())
        return b"".join(parts)


async def check_url(url: str, config: FetchConfig) -> None:
    """Pre-flight check of a user-given URL, run by every door before a job is created.

    Raises ``InvalidOptionError('url', reason)`` for a malformed URL (not http/https, no host,
    credentials) and ``BlockedURLError(url, rule)`` when the host does not resolve or resolves
    to any address the guard refuses (unless the host is in ``allow_private_hosts``).
    The fetcher re-checks at connect time; this check only gives an early, clear answer.
    """
    try:
        parsed = httpx2.URL(url)
    except httpx2.InvalidURL as exc:
        raise InvalidOptionError("url", f"{url!r} is not a valid URL: {exc}") from exc
    if parsed.scheme not in _SCHEMES:
        raise InvalidOptionError("url", f"{url!r} must start with http:// or https://")
    if not parsed.raw_host:
        raise InvalidOptionError("url", f"{url!r} has no host")
    if parsed.userinfo:
        raise InvalidOptionError("url", f"{url!r} must not carry credentials")
    host = parsed.raw_host.decode("ascii")
    allowed = {normalise_host(name) for name in config.allow_private_hosts}
    if normalise_host(host) in allowed:
        return
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    try:
        async with asyncio.timeout(config.connect_timeout):
            addresses = await resolve(host, port, config.resolver)
    except (OSError, UnicodeError, TimeoutError) as exc:
        raise BlockedURLError(url, "host does not resolve") from exc
    reason = first_refusal(addresses)
    if reason is not None:
        raise BlockedURLError(url, f"resolves to {reason}")
