"""The guarded fetcher against real local servers: guard, redirects, caps, timeouts, proxies."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from docspasta.errors import (
    BlockedURLError,
    BodyTooLargeError,
    FetchError,
    GuardRefusedError,
    InvalidOptionError,
)
from docspasta.fetch import FetchConfig, Fetcher, FetchResult, check_url, parse_content_type
from docspasta.fetch.guard import refusal_reason
from tests.support.http import FixtureServer

LOOPBACK = FetchConfig(allow_private_hosts=frozenset({"127.0.0.1"}))

REFUSED_HOSTS = [
    ("127.0.0.1", "loopback"),
    ("localhost", "loopback"),
    ("[::1]", "loopback"),
    ("10.0.0.1", "private"),
    ("169.254.169.254", "link-local"),
    ("[::ffff:127.0.0.1]", "IPv4-mapped"),
    ("[64:ff9b::7f00:1]", "NAT64"),
    ("[2002:7f00:1::]", "6to4"),
]


async def fetch(url: str, config: FetchConfig = LOOPBACK) -> FetchResult:
    async with Fetcher(config) as fetcher:
        return await fetcher.fetch(url)


# -- the address classifier -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
        ("2002:808:808::1", None),
        ("127.0.0.1", "a loopback address 127.0.0.1"),
        ("127.1.2.3", "a loopback address 127.1.2.3"),
        ("::1", "a loopback address ::1"),
        ("0.0.0.0", "an unspecified address 0.0.0.0"),
        ("::", "an unspecified address ::"),
        ("10.0.0.1", "a private address 10.0.0.1"),
        ("172.16.0.1", "a private address 172.16.0.1"),
        ("192.168.1.1", "a private address 192.168.1.1"),
        ("fd12::1", "a private address fd12::1"),
        ("169.254.169.254", "a link-local address 169.254.169.254"),
        ("fe80::1", "a link-local address fe80::1"),
        ("100.64.0.1", "a carrier-grade NAT address 100.64.0.1"),
        ("224.0.0.1", "a multicast address 224.0.0.1"),
        ("ff02::1", "a multicast address ff02::1"),
        ("fec0::1", "a site-local address fec0::1"),
        ("192.0.0.8", "a special-purpose address 192.0.0.8"),
        ("::7f00:1", "a reserved address ::7f00:1"),
        ("64:ff9b:1::1", "a local NAT64 address 64:ff9b:1::1"),
        (
            "::ffff:127.0.0.1",
            "an IPv4-mapped address ::ffff:7f00:1 embedding a loopback address 127.0.0.1",
        ),
        (
            "64:ff9b::7f00:1",
            "a NAT64 address 64:ff9b::7f00:1 embedding a loopback address 127.0.0.1",
        ),
        (
            "64:ff9b::a9fe:a9fe",
            "a NAT64 address 64:ff9b::a9fe:a9fe embedding a link-local address 169.254.169.254",
        ),
        ("2002:7f00:1::", "a 6to4 address 2002:7f00:1:: embedding a loopback address 127.0.0.1"),
        ("2002:a00:1::1", "a 6to4 address 2002:a00:1::1 embedding a private address 10.0.0.1"),
        (
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "a Teredo address 2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ),
    ],
)
def test_address_classifier(address: str, reason: str | None) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == reason


# -- check_url ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("host", "kind"), REFUSED_HOSTS)
async def test_check_url_refuses_non_global_hosts(host: str, kind: str) -> None:
    url = f"http://{host}:8080/docs/"
    with pytest.raises(BlockedURLError) as caught:
        await check_url(url, FetchConfig())
    assert caught.value.rule.startswith("resolves to ")
    assert kind in caught.value.rule
    assert caught.value.url == url


async def test_check_url_names_the_rule() -> None:
    with pytest.raises(BlockedURLError) as caught:
        await check_url("http://127.0.0.1/", FetchConfig())
    assert caught.value.rule == "resolves to a loopback address"  # never the address
    assert caught.value.field == "url"


async def test_check_url_allows_listed_hosts_and_global_addresses() -> None:
    await check_url("http://127.0.0.1:9/", LOOPBACK)
    await check_url("http://[::1]:9/", FetchConfig(allow_private_hosts=frozenset({"[::1]"})))
    await check_url("https://93.184.215.14/docs", FetchConfig())
    await check_url("http://[2606:4700:4700::1111]/", FetchConfig())


async def test_check_url_allow_list_is_by_literal_host() -> None:
    with pytest.raises(BlockedURLError):
        await check_url("http://localhost/", LOOPBACK)


async def test_check_url_unresolvable_host() -> None:
    with pytest.raises(BlockedURLError) as caught:
        await check_url("http://no-such-host.invalid/", FetchConfig())
    assert caught.value.rule == "host does not resolve"


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "file:///etc/passwd", "example.com", "http:///path", "http://u:p@a.b/"],
)
async def test_check_url_malformed(url: str) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        await check_url(url, FetchConfig())
    assert not isinstance(caught.value, BlockedURLError)
    assert caught.value.field == "url"


# -- the guard at fetch time --------------------------------------------------------------------


@pytest.mark.parametrize(("host", "kind"), REFUSED_HOSTS)
async def test_fetch_refuses_before_connecting(
    fixture_server: FixtureServer, host: str, kind: str
) -> None:
    fixture_server.add("/", "secret")
    url = f"http://{host}:{fixture_server.port}/"
    with pytest.raises(GuardRefusedError) as caught:
        await fetch(url, FetchConfig())
    assert kind in caught.value.rule
    assert caught.value.url == url
    assert caught.value.retryable is False
    assert fixture_server.requests == []
    assert fixture_server.connections == 0


async def test_fetch_allowed_host(fixture_server: FixtureServer) -> None:
    fixture_server.add("/page", "<h1>héllo</h1>", headers={"X-Thing": "1"})
    result = await fetch(fixture_server.url("/page"))
    assert result.status == 200
    assert result.body == "<h1>héllo</h1>".encode()
    assert result.content_type == "text/html"
    assert result.charset == "utf-8"
    assert result.headers["x-thing"] == "1"
    assert all(name == name.lower() for name in result.headers)
    assert result.url == result.final_url == fixture_server.url("/page")
    assert result.redirects == ()
    sent = fixture_server.request_headers[0]
    assert sent["user-agent"].startswith("docspasta/")
    assert sent["accept-encoding"] == "gzip, deflate"


async def test_allow_list_matches_localhost_by_name(fixture_server: FixtureServer) -> None:
    fixture_server.add("/", "ok")
    config = FetchConfig(allow_private_hosts=frozenset({"LocalHost"}))
    result = await fetch(f"http://localhost:{fixture_server.port}/", config)
    assert result.status == 200


async def test_any_status_is_returned(fixture_server: FixtureServer) -> None:
    fixture_server.add("/gone", "gone", status=410, content_type="text/plain")
    result = await fetch(fixture_server.url("/gone"))
    assert (result.status, result.body, result.content_type) == (410, b"gone", "text/plain")
    missing = await fetch(fixture_server.url("/nowhere"))
    assert missing.status == 404


async def test_extra_headers_sent_and_cookies_not_kept(fixture_server: FixtureServer) -> None:
    fixture_server.add("/set", "x", headers={"Set-Cookie": "session=abc; Path=/"})
    fixture_server.add("/next", "y")
    config = FetchConfig(
        allow_private_hosts=frozenset({"127.0.0.1"}), extra_headers=(("X-Crawl", "1"),)
    )
    async with Fetcher(config) as fetcher:
        await fetcher.fetch(fixture_server.url("/set"))
        await fetcher.fetch(fixture_server.url("/next"))
    first, second = fixture_server.request_headers
    assert first["x-crawl"] == "1"
    assert "cookie" not in second


# -- redirects ----------------------------------------------------------------------------------


async def test_redirect_chain_is_followed_and_recorded(fixture_server: FixtureServer) -> None:
    fixture_server.add_redirect("/a", "/b")
    fixture_server.add_redirect("/b", fixture_server.url("/c?x=1"), status=302)
    fixture_server.add_redirect("/c", "d", status=307)
    fixture_server.add("/d", "done")
    result = await fetch(fixture_server.url("/a"))
    assert result.body == b"done"
    assert result.final_url == fixture_server.url("/d")
    assert result.redirects == (
        fixture_server.url("/a"),
        fixture_server.url("/b"),
        fixture_server.url("/c?x=1"),
    )
    assert fixture_server.requests == ["/a", "/b", "/c?x=1", "/d"]


async def test_too_many_redirects(fixture_server: FixtureServer) -> None:
    for hop in range(10):
        fixture_server.add_redirect(f"/r{hop}", f"/r{hop + 1}")
    config = FetchConfig(allow_private_hosts=frozenset({"127.0.0.1"}), max_redirects=3)
    with pytest.raises(FetchError, match="more than 3 redirects") as caught:
        await fetch(fixture_server.url("/r0"), config)
    assert not isinstance(caught.value, GuardRefusedError)
    assert fixture_server.requests == ["/r0", "/r1", "/r2", "/r3"]


async def test_redirect_loop(fixture_server: FixtureServer) -> None:
    fixture_server.add_redirect("/loop", "/loop")
    with pytest.raises(FetchError, match="redirects"):
        await fetch(fixture_server.url("/loop"))
    assert len(fixture_server.requests) == 11


async def test_redirect_to_refused_host_is_refused(fixture_server: FixtureServer) -> None:
    target = f"http://localhost:{fixture_server.port}/target"
    fixture_server.add_redirect("/r", target)
    fixture_server.add("/target", "internal")
    with pytest.raises(GuardRefusedError) as caught:
        await fetch(fixture_server.url("/r"))
    assert "loopback" in caught.value.rule
    assert caught.value.url == target
    assert fixture_server.requests == ["/r"]


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://127.0.0.1:70/x"])
async def test_redirect_to_other_scheme_is_refused(
    fixture_server: FixtureServer, location: str
) -> None:
    fixture_server.add_redirect("/r", location)
    with pytest.raises(GuardRefusedError, match="not http or https"):
        await fetch(fixture_server.url("/r"))


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "http://user:pw@127.0.0.1/"])
async def test_fetch_refuses_bad_urls(url: str) -> None:
    with pytest.raises(FetchError):
        await fetch(url)


# -- body caps and decoding ---------------------------------------------------------------------


SMALL_CAP = FetchConfig(allow_private_hosts=frozenset({"127.0.0.1"}), max_body_bytes=1000)


async def test_body_at_the_cap_is_accepted(fixture_server: FixtureServer) -> None:
    fixture_server.add("/exact", b"x" * 1000, chunked=True)
    result = await fetch(fixture_server.url("/exact"), SMALL_CAP)
    assert len(result.body) == 1000


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_raw_body_over_the_cap(fixture_server: FixtureServer, chunked: bool) -> None:
    fixture_server.add("/big", b"x" * 5000, chunked=chunked)
    with pytest.raises(BodyTooLargeError) as caught:
        await fetch(fixture_server.url("/big"), SMALL_CAP)
    assert caught.value.limit == 1000


async def test_lying_content_length_is_refused_early(fixture_server: FixtureServer) -> None:
    fixture_server.add("/liar", b"small", headers={"Content-Length": str(10**12)})
    with pytest.raises(BodyTooLargeError):
        await fetch(fixture_server.url("/liar"), SMALL_CAP)


async def test_gzip_bomb_is_capped(fixture_server: FixtureServer) -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000
    fixture_server.add("/bomb", bomb, headers={"Content-Encoding": "gzip"}, chunked=True)
    with pytest.raises(BodyTooLargeError) as caught:
        await fetch(fixture_server.url("/bomb"))
    assert caught.value.limit == 10 * 1024 * 1024


async def test_gzip_is_decoded(fixture_server: FixtureServer) -> None:
    page = "<p>" + "compressible " * 500 + "</p>"
    fixture_server.add("/gz", page, gzip=True)
    result = await fetch(fixture_server.url("/gz"))
    assert result.headers["content-encoding"] == "gzip"
    assert result.body == page.encode()


@pytest.mark.parametrize("raw", [False, True], ids=["zlib", "raw-deflate"])
async def test_deflate_is_decoded(fixture_server: FixtureServer, raw: bool) -> None:
    page = b"<p>" + b"deflated " * 300 + b"</p>"
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    body = compressor.compress(page) + compressor.flush()
    fixture_server.add("/d", body, headers={"Content-Encoding": "deflate"})
    assert (await fetch(fixture_server.url("/d"))).body == page


async def test_unknown_content_encoding(fixture_server: FixtureServer) -> None:
    fixture_server.add("/br", b"\x00\x01", headers={"Content-Encoding": "br"})
    with pytest.raises(FetchError, match="unsupported content-encoding"):
        await fetch(fixture_server.url("/br"))


# -- timeouts and network errors ----------------------------------------------------------------


async def test_read_timeout_is_retryable(fixture_server: FixtureServer) -> None:
    fixture_server.add("/slow", "late", delay=3)
    config = FetchConfig(allow_private_hosts=frozenset({"127.0.0.1"}), read_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out") as caught:
        await fetch(fixture_server.url("/slow"), config)
    assert caught.value.retryable is True
    assert time.monotonic() - started < 2


async def test_total_deadline_is_retryable(fixture_server: FixtureServer) -> None:
    fixture_server.add("/slow", "late", delay=3)
    config = FetchConfig(allow_private_hosts=frozenset({"127.0.0.1"}), total_timeout=0.3)
    with pytest.raises(FetchError, match="no complete answer") as caught:
        await fetch(fixture_server.url("/slow"), config)
    assert caught.value.retryable is True


async def test_connection_refused_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match="connection failed") as caught:
        await fetch(f"http://127.0.0.1:{port}/")
    assert caught.value.retryable is True


async def test_concurrent_fetches_share_the_client(fixture_server: FixtureServer) -> None:
    for n in range(8):
        fixture_server.add(f"/p{n}", f"page {n}", delay=0.2)
    started = time.monotonic()
    async with Fetcher(LOOPBACK) as fetcher:
        results = await asyncio.gather(
            *(fetcher.fetch(fixture_server.url(f"/p{n}")) for n in range(8))
        )
    assert [r.body for r in results] == [f"page {n}".encode() for n in range(8)]
    assert time.monotonic() - started < 1.5


# -- environment --------------------------------------------------------------------------------


async def test_proxy_environment_is_ignored(
    fixture_server: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:1")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    fixture_server.add("/", "direct")
    result = await fetch(fixture_server.url("/"))
    assert result.body == b"direct"
    assert fixture_server.requests == ["/"]


# -- TLS keeps the host name while the guard connects by address -------------------------------


@pytest.fixture
def tls_listener(tmp_path: Path) -> Iterator[tuple[int, list[str | None]]]:
    """A TLS server with a self-signed 'localhost' certificate recording the SNI it receives."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn, contextlib.suppress(ssl.SSLError, OSError):
            context.wrap_socket(conn, server_side=True).close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], names
    finally:
        listener.close()
        thread.join(timeout=10)


async def test_tls_uses_the_host_name(tls_listener: tuple[int, list[str | None]]) -> None:
    port, names = tls_listener
    config = FetchConfig(allow_private_hosts=frozenset({"localhost"}))
    with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED") as caught:
        await fetch(f"https://localhost:{port}/", config)
    assert names == ["localhost"]
    assert caught.value.retryable is False


# -- content types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text/html; charset=utf-8", ("text/html", "utf-8")),
        ('Text/HTML;Charset="ISO-8859-1"', ("text/html", "iso-8859-1")),
        ("application/xhtml+xml", ("application/xhtml+xml", None)),
        ("text/html; boundary=x; charset=windows-1252 ", ("text/html", "windows-1252")),
        ("text/plain; charset=", ("text/plain", None)),
        ("", ("", None)),
        (None, ("", None)),
    ],
)
def test_parse_content_type(value: str | None, expected: tuple[str, str | None]) -> None:
    assert parse_content_type(value) == expected


async def test_missing_content_type(fixture_server: FixtureServer) -> None:
    fixture_server.add("/raw", b"bytes", content_type=None)
    result = await fetch(fixture_server.url("/raw"))
    assert (result.content_type, result.charset) == ("", None)


# -- the fixture server itself ------------------------------------------------------------------


async def test_fixture_server_serves_a_directory(tmp_path: Path) -> None:
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "index.html").write_text("<h1>guide</h1>")
    (tmp_path / "style.css").write_text("body{}")
    with FixtureServer(root=tmp_path) as server:
        server.add("/style.css", "route wins", content_type="text/css")
        index = await fetch(server.url("/guide"))
        css = await fetch(server.url("/style.css"))
        escape = await fetch(server.url("/../etc/passwd"))
        guide_url = server.url("/guide")
    assert (index.body, index.redirects) == (b"<h1>guide</h1>", (guide_url,))
    assert (index.content_type, index.charset) == ("text/html", "utf-8")
    assert (css.body, css.content_type) == (b"route wins", "text/css")
    assert escape.status == 404


# -- charset from a byte-order mark; private headers; Retry-After -------------------------------


@pytest.mark.parametrize(
    ("body", "charset"),
    [
        ("\ufeff<p>é</p>".encode(), "utf-8"),
        ("\ufeff<p>é</p>".encode("utf-16-le"), "utf-16"),
        ("\ufeff<p>é</p>".encode("utf-16-be"), "utf-16"),
        ("<p>é</p>".encode("latin-1"), "iso-8859-1"),
    ],
)
async def test_a_bom_wins_over_the_header_charset(
    fixture_server: FixtureServer, body: bytes, charset: str
) -> None:
    fixture_server.add("/bom", body, content_type="text/html; charset=iso-8859-1")
    result = await fetch(fixture_server.url("/bom"))
    assert result.charset == charset
    assert "é" in result.body.decode(charset)


async def test_private_headers_follow_a_redirect_only_to_their_host(
    fixture_server: FixtureServer,
) -> None:
    from docspasta.fetch.client import HostHeaders

    with FixtureServer() as other:
        other.add("/landing", "elsewhere")
        fixture_server.add_redirect("/start", f"http://localhost:{other.port}/landing")
        config = FetchConfig(allow_private_hosts=frozenset({"127.0.0.1", "localhost"}))
        headers = HostHeaders.for_url(fixture_server.url("/"), {"Authorization": "Bearer x"})
        assert headers is not None
        assert "Bearer" not in repr(headers)
        async with Fetcher(config) as fetcher:
            result = await fetcher.fetch(fixture_server.url("/start"), private_headers=headers)
        assert result.body == b"elsewhere"
        assert fixture_server.request_headers[0]["authorization"] == "Bearer x"
        assert "authorization" not in other.request_headers[0]


def test_private_headers_are_not_sent_over_a_downgrade() -> None:
    import httpx2

    from docspasta.fetch.client import HostHeaders

    headers = HostHeaders.for_url("https://docs.example.com/", {"X-Token": "t"})
    assert headers is not None
    assert headers.applies_to(httpx2.URL("https://DOCS.example.com:8443/a"))
    assert not headers.applies_to(httpx2.URL("http://docs.example.com/a"))
    assert not headers.applies_to(httpx2.URL("https://example.com/a"))
    assert HostHeaders.for_url("https://docs.example.com/", {}) is None


async def test_refusals_never_name_the_resolved_address(fixture_server: FixtureServer) -> None:
    url = f"http://localhost:{fixture_server.port}/"
    with pytest.raises(GuardRefusedError) as caught:
        await fetch(url, FetchConfig())
    assert "127.0.0.1" not in str(caught.value)
    assert "::1" not in str(caught.value)
    assert str(caught.value).startswith(url)


# -- kept-alive connections ---------------------------------------------------------------------


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    """The pool probes idle connections (guard._ProbedStream): one the server closed after
    answering is replaced by a new connection, and the next fetch succeeds."""
    connections = 0
    body = b"<p>hi</p>"
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )

    handlers: list[asyncio.Task[None]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(response)  # keep-alive by default in HTTP/1.1 ...
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()  # ... but the server closes it anyway
        await writer.wait_closed()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        current = asyncio.current_task()
        assert current is not None
        handlers.append(current)
        await serve(reader, writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with Fetcher(LOOPBACK) as fetcher:
            first = await fetcher.fetch(f"http://127.0.0.1:{port}/a")
            await asyncio.sleep(0.3)
            second = await fetcher.fetch(f"http://127.0.0.1:{port}/b")
    finally:
        await asyncio.gather(*handlers, return_exceptions=True)
        server.close()
        await server.wait_closed()
    assert (first.status, second.status) == (200, 200)
    assert second.body == body
    assert connections == 2
