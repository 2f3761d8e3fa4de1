"""The SSRF battery (contract 5): every case is refused before any connection is opened.

Each test runs the real fetcher with a DNS answer source we control (``FakeDNS``) and a backend
that records every connection the guard lets through (``RecordingBackend``); a fixture server
listens on the port every refused URL names, and must have accepted no connection. Refusals
name the URL and the rule, never the address a name resolved to.
"""

from __future__ import annotations

import pytest

from docspasta.errors import BlockedURLError, FetchError, GuardRefusedError, InvalidOptionError
from docspasta.fetch import FetchConfig, Fetcher, check_url
from tests.support.http import FixtureServer
from tests.support.network import FakeDNS, RecordingBackend

#: Addresses no crawl may reach, with the word the rule must contain.
REFUSED_ADDRESSES = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.0.1", "private"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("198.18.0.1", "private"),
    ("198.19.255.254", "private"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("fe80::1", "link-local"),
    ("::ffff:127.0.0.1", "IPv4-mapped"),
    ("::ffff:10.0.0.1", "IPv4-mapped"),
    ("::ffff:169.254.169.254", "IPv4-mapped"),
    ("::127.0.0.1", "reserved"),  # IPv4-compatible
    ("::10.0.0.1", "reserved"),  # IPv4-compatible
    ("64:ff9b::7f00:1", "NAT64"),
    ("64:ff9b::a9fe:a9fe", "NAT64"),
    ("64:ff9b::c0a8:1", "NAT64"),
    ("2002:7f00:1::1", "6to4"),
    ("2002:a00:1::1", "6to4"),
    ("2002:c0a8:101::1", "6to4"),
]

#: Other spellings of 127.0.0.1 (and 0.0.0.0) that C resolvers accept.
LEGACY_SPELLINGS = [
    "2130706433",  # decimal
    "0x7f000001",  # hex
    "0x7f.0.0.1",  # dotted hex
    "0x7F.1",  # short hex
    "017700000001",  # octal
    "127.1",  # short
    "127.0.1",  # short
    "0",  # 0.0.0.0
    "127.0.0.1.",  # trailing dot
]


def _literal(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@pytest.fixture
def recorder() -> RecordingBackend:
    return RecordingBackend()


def _config(dns: FakeDNS, recorder: RecordingBackend, **kwargs: object) -> FetchConfig:
    return FetchConfig(resolver=dns, network_backend=recorder, connect_timeout=2, **kwargs)  # type: ignore[arg-type]


async def _refused(url: str, config: FetchConfig) -> FetchError:
    async with Fetcher(config) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url)
    assert caught.value.retryable is False
    return caught.value


def _no_connection(server: FixtureServer, recorder: RecordingBackend) -> None:
    assert recorder.attempts == []
    assert server.connections == 0
    assert server.requests == []


@pytest.mark.parametrize(("address", "kind"), REFUSED_ADDRESSES)
async def test_address_literal_is_refused(
    fixture_server: FixtureServer, recorder: RecordingBackend, address: str, kind: str
) -> None:
    url = f"http://{_literal(address)}:{fixture_server.port}/"
    dns = FakeDNS({})
    error = await _refused(url, _config(dns, recorder))
    assert isinstance(error, GuardRefusedError)
    assert kind in error.rule
    assert error.url == url
    assert dns.questions == []  # a literal is never looked up
    _no_connection(fixture_server, recorder)


@pytest.mark.parametrize(("address", "kind"), REFUSED_ADDRESSES)
async def test_name_resolving_to_address_is_refused_without_naming_it(
    fixture_server: FixtureServer, recorder: RecordingBackend, address: str, kind: str
) -> None:
    url = f"http://internal.test:{fixture_server.port}/page"
    dns = FakeDNS({"internal.test": [[address]]})
    error = await _refused(url, _config(dns, recorder))
    assert isinstance(error, GuardRefusedError)
    assert kind in error.rule
    assert url in str(error)
    assert address not in str(error)
    assert error.rule.startswith("internal.test resolves to a")
    assert str(error) == f"{url}: refused by the network guard: {error.rule}"
    _no_connection(fixture_server, recorder)


@pytest.mark.parametrize(("address", "kind"), REFUSED_ADDRESSES)
async def test_check_url_refuses_names_without_naming_the_address(
    recorder: RecordingBackend, address: str, kind: str
) -> None:
    dns = FakeDNS({"internal.test": [[address]]})
    with pytest.raises(BlockedURLError) as caught:
        await check_url("http://internal.test/", _config(dns, recorder))
    assert kind in caught.value.rule
    assert address not in str(caught.value)
    assert recorder.attempts == []


@pytest.mark.parametrize("spelling", LEGACY_SPELLINGS)
async def test_legacy_ipv4_spellings_are_refused(
    fixture_server: FixtureServer, recorder: RecordingBackend, spelling: str
) -> None:
    url = f"http://{spelling}:{fixture_server.port}/"
    dns = FakeDNS({})
    error = await _refused(url, _config(dns, recorder))
    assert "loopback" in str(error) or "unspecified" in str(error) or "invalid" in str(error)
    assert dns.questions == []
    _no_connection(fixture_server, recorder)


async def test_any_refused_address_among_several_refuses_the_name(
    fixture_server: FixtureServer, recorder: RecordingBackend
) -> None:
    dns = FakeDNS({"mixed.test": [["93.184.215.14", "10.0.0.7"]]})
    error = await _refused(f"http://mixed.test:{fixture_server.port}/", _config(dns, recorder))
    assert isinstance(error, GuardRefusedError)
    assert "10.0.0.7" not in str(error)
    _no_connection(fixture_server, recorder)


async def test_rebinding_after_the_preflight_check_is_refused(
    fixture_server: FixtureServer, recorder: RecordingBackend
) -> None:
    """check_url sees a public address; the fetch's own lookup sees 127.0.0.1 and refuses."""
    url = f"http://rebind.test:{fixture_server.port}/"
    dns = FakeDNS({"rebind.test": [["93.184.215.14"], ["127.0.0.1"]]})
    config = _config(dns, recorder)
    await check_url(url, config)
    error = await _refused(url, config)
    assert "loopback" in str(error)
    assert dns.questions == ["rebind.test", "rebind.test"]
    _no_connection(fixture_server, recorder)


async def test_the_checked_address_is_the_one_connected_to(
    fixture_server: FixtureServer, recorder: RecordingBackend
) -> None:
    """One lookup per connection: a rebinding answer after the check is never asked for."""
    url = f"http://rebind.test:{fixture_server.port}/"
    dns = FakeDNS({"rebind.test": [["93.184.215.14"], ["127.0.0.1"]]})
    async with Fetcher(_config(dns, recorder)) as fetcher:
        with pytest.raises(FetchError, match="connection failed") as caught:
            await fetcher.fetch(url)
    assert recorder.attempts == [("93.184.215.14", fixture_server.port)]
    assert dns.questions == ["rebind.test"]
    assert "93.184.215.14" not in str(caught.value)
    assert fixture_server.connections == 0


@pytest.mark.parametrize(
    "target",
    [
        "http://internal.test:{port}/x",
        "http://[::1]:{port}/x",
        "http://2130706433:{port}/x",
        "http://[64:ff9b::7f00:1]:{port}/x",
        "http://169.254.169.254:{port}/latest/meta-data/",
    ],
)
async def test_redirect_to_a_refused_address_is_refused(
    fixture_server: FixtureServer, recorder: RecordingBackend, target: str
) -> None:
    with FixtureServer() as inner:
        location = target.format(port=inner.port)
        fixture_server.add_redirect("/go", location)
        dns = FakeDNS({"internal.test": [["127.0.0.1"]]})
        config = _config(dns, recorder, allow_private_hosts=frozenset({"127.0.0.1"}))
        error = await _refused(fixture_server.url("/go"), config)
        assert isinstance(error, GuardRefusedError)
        assert error.url == location
        assert inner.connections == 0
    assert {attempt[1] for attempt in recorder.attempts} == {fixture_server.port}
    assert fixture_server.requests == ["/go"]


@pytest.mark.parametrize(
    "location",
    ["file:///etc/passwd", "gopher://127.0.0.1:70/x", "ftp://internal.test/", "dict://x:11211/"],
)
async def test_redirect_to_another_scheme_is_refused(
    fixture_server: FixtureServer, recorder: RecordingBackend, location: str
) -> None:
    fixture_server.add_redirect("/go", location)
    config = _config(FakeDNS({}), recorder, allow_private_hosts=frozenset({"127.0.0.1"}))
    error = await _refused(fixture_server.url("/go"), config)
    assert isinstance(error, GuardRefusedError)
    assert "not http or https" in error.rule
    assert len(recorder.attempts) == 1  # the redirecting server only


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://public.test/",
        "gopher://public.test/",
        "data:text/html,<h1>x</h1>",
        "javascript:alert(1)",
        "http://user:secret@public.test/",
        "https://token@public.test/",
    ],
)
async def test_bad_schemes_and_credentials_are_refused(
    recorder: RecordingBackend, url: str
) -> None:
    dns = FakeDNS({"public.test": [["93.184.215.14"]]})
    await _refused(url, _config(dns, recorder))
    with pytest.raises(InvalidOptionError):
        await check_url(url, _config(dns, recorder))
    assert recorder.attempts == []
    assert dns.questions == []


async def test_a_public_name_is_let_through(recorder: RecordingBackend) -> None:
    """The battery can fail: a public answer does reach the (recording) network."""
    dns = FakeDNS({"public.test": [["93.184.215.14"]]})
    await check_url("http://public.test/", _config(dns, recorder))
    with pytest.raises(FetchError, match="connection failed"):
        async with Fetcher(_config(dns, recorder)) as fetcher:
            await fetcher.fetch("http://public.test/")
    assert recorder.attempts == [("93.184.215.14", 80)]
