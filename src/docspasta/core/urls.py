"""URL normalisation, hashing and crawl scope.

Every URL that enters the crawl frontier goes through :func:`normalize_url` first, so two
spellings of one page (``HTTP://Example.com:80/a/./b#top`` and ``http://example.com/a/b``) become
one string, one :func:`url_hash` and one page row. :class:`Scope` then decides whether a
normalised URL belongs to the documentation being crawled.

Pure: strings in, strings out; nothing here resolves a host or opens a connection.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from docspasta.errors import InvalidOptionError

_DEFAULT_PORTS = {"http": 80, "https": 443}

#: Query parameters that only track the visitor and never change the page.
_TRACKING_PARAMS = frozenset(
    {
        "gclid",
        "gclsrc",
        "gbraid",
        "wbraid",
        "fbclid",
        "dclid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "srsltid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "__hssc",
        "__hstc",
        "__hsfp",
        "hsctatracking",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "vero_conv",
        "ck_subscriber_id",
        "rb_clickid",
        "s_cid",
        "wickedid",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "matomo_", "hsa_")
#: Query parameters that carry a server-side session id: a new URL for one page per visit.
SESSION_PARAMS = frozenset(
    {
        "jsessionid",
        "phpsessid",
        "aspsessionid",
        "asp.net_sessionid",
        "sessionid",
        "session_id",
        "sid",
        "cfid",
        "cftoken",
        "zenid",
        "oscsid",
    }
)
#: ``;jsessionid=...``-style session ids in a path segment (Java servlets, old PHP).
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sessionid|sid)=[^/]*", re.IGNORECASE)
#: A directory's default document: ``/a/index.html`` is the page ``/a/``.
_INDEX_DOCUMENTS = frozenset({"index.html", "index.htm", "index.xhtml"})

# Characters left as they are in a path or a query; everything else is percent-encoded.
# "%" is kept so that existing escapes are not encoded twice (idempotence).
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_PERCENT_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")


def _upper_escapes(text: str) -> str:
    return _PERCENT_ESCAPE.sub(lambda m: m.group(0).upper(), text)


def _remove_dot_segments(path: str) -> str:
    """Resolve ``.`` and ``..`` segments as RFC 3986, section 5.2.4 does."""
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        is_last = index == len(segments) - 1
        if segment == ".":
            if is_last:
                output.append("")
            continue
        if segment == "..":
            if len(output) > 1:
                output.pop()
            if is_last:
                output.append("")
            continue
        output.append(segment)
    result = "/".join(output)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result


def _is_tracking_param(pair: str) -> bool:
    name = unquote(pair.split("=", 1)[0]).strip().lower()
    return name in _TRACKING_PARAMS or name in SESSION_PARAMS or name.startswith(_TRACKING_PREFIXES)


def _unify_path(path: str) -> str:
    """Drop path session ids and make ``/a/index.html`` the directory ``/a/``."""
    if ";" in path:
        path = _PATH_SESSION.sub("", path)
    directory, slash, last = path.rpartition("/")
    if slash and last.lower() in _INDEX_DOCUMENTS:
        return directory + "/"
    return path


def _clean_query(query: str) -> str:
    kept = [pair for pair in query.split("&") if pair and not _is_tracking_param(pair)]
    return _upper_escapes(quote("&".join(kept), safe=_QUERY_SAFE))


def _normalize_host(hostname: str) -> str | None:
    host = hostname.lower().rstrip(".")
    if not host:
        return None
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def normalize_url(url: str, base: str | None = None) -> str | None:
    """Return the canonical form of ``url``, or ``None`` if it is not a crawlable web URL.

    ``url`` is resolved against ``base`` when given. The result has a lowercase scheme
    (``http`` or ``https`` only) and host, no default port, no fragment, no dot segments, a
    path of at least ``/``, ``index.html`` (``.htm``, ``.xhtml``) replaced by its directory
    (``/a/index.html`` is ``/a/``), and its query without tracking parameters (``utm_*``,
    ``gclid``, ``fbclid``...) and session ids (``jsessionid``, ``PHPSESSID``, also as a
    ``;jsessionid=`` path parameter). Query order is kept. ``None`` means: another scheme
    (``mailto:``, ``javascript:``, ``data:``, ``ftp:``...), no host, an invalid port, or
    credentials in the URL. Idempotent:
    ``normalize_url(normalize_url(x)) == normalize_url(x)``.
    """
    url = url.strip()
    if base is not None:
        try:
            url = urljoin(base.strip(), url)
        except ValueError:
            return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or "@" in parts.netloc or parts.hostname is None:
        return None
    host = _normalize_host(parts.hostname)
    if host is None:
        return None
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _remove_dot_segments(_unify_path(parts.path))
    path = _upper_escapes(quote(path, safe=_PATH_SAFE)) or "/"
    if not path.startswith("/"):
        path = "/" + path
    return urlunsplit((scheme, netloc, path, _clean_query(parts.query), ""))


@lru_cache(maxsize=8192)
def _resolve_in(directory: str, href: str) -> str | None:
    return normalize_url(href, directory)


def resolve_link(href: str, base: str) -> str | None:
    """``normalize_url(href, base)`` for the links of a page, memoised: a docs site repeats
    the same navigation links on every page, so most of them were resolved before.

    A reference with a path resolves against the base's directory alone (RFC 3986, 5.2.2), so
    it is cached by that directory, without its fragment (normalisation drops it). References
    that need the whole base (``""``, ``?query``, ``#fragment``) or that ``urljoin`` reads as an
    empty path (``;params``, ``//``) are resolved directly.
    """
    href = href.strip()
    if not href or href[0] == "#":  # the page itself (a fragment is dropped)
        return _normalized(base)
    if href[0] in "?;" or href.startswith("//"):
        return normalize_url(href, base)
    base = base.strip()
    end = len(base)
    for mark in "?#":
        found = base.find(mark)
        if found != -1:
            end = min(end, found)
    slash = base.rfind("/", 0, end)
    if slash < base.find("//") + 2:  # no path in the base: the join makes its own "/"
        return normalize_url(href, base)
    directory, ref = base[: slash + 1], href.split("#", 1)[0]
    if ref[-1:].isspace():  # normalize_url would strip it: keep "a #b" as urljoin reads it
        return normalize_url(href, base)
    if (
        _PLAIN_RELATIVE.match(ref)
        and "/." not in ref
        and "//" not in ref
        and _is_normalized(directory)
    ):
        # Fast path, the common case: a plain relative path against a normalised directory
        # needs no parsing, escaping or dot-segment removal, only the index.html rule.
        return _unify_path(directory + ref)
    return _resolve_in(directory, ref)


#: A relative reference that normalisation leaves as it is: no scheme, query, escape, session
#: parameter or leading dot segment; only characters a path keeps unescaped.
_PLAIN_RELATIVE = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~/-]*\Z")


@lru_cache(maxsize=1024)
def _normalized(url: str) -> str | None:
    return normalize_url(url)


def _is_normalized(url: str) -> bool:
    return _normalized(url) == url


def url_hash(url: str) -> str:
    """The sha256 hex digest of an (already normalised) URL: the page's stable identity."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Scope:
    """Which URLs belong to a crawl: same scheme and host, and a path under ``path_prefix``.

    ``host`` is the normalised netloc, port included when it is not the default one.
    ``extra_paths`` are single pages in scope outside the prefix (the start page ``/docs/guide``
    when the prefix is ``/docs/guide/``). Query strings never affect scope.
    """

    scheme: str
    host: str
    path_prefix: str
    extra_paths: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def for_start_url(cls, url: str) -> Scope:
        """The default scope of a crawl: the start URL's directory, same scheme and host.

        ``/docs/guide/intro.html`` and ``/docs/guide/`` give the prefix ``/docs/guide/``;
        ``/docs/guide`` (no extension in its last segment) gives the prefix ``/docs/guide/``
        plus the page ``/docs/guide`` itself; ``/`` and ``/index.html`` give ``/``.

        Raises :class:`~docspasta.errors.InvalidOptionError` if ``url`` is not a web URL.
        """
        normalized = normalize_url(url)
        if normalized is None:
            raise InvalidOptionError("url", f"{url!r} is not an http(s) URL")
        parts = urlsplit(normalized)
        path = parts.path
        extra: frozenset[str] = frozenset()
        if path.endswith("/"):
            prefix = path
        else:
            directory, _, last = path.rpartition("/")
            if "." in last:
                prefix = directory + "/"
            else:
                prefix = path + "/"
                extra = frozenset({path})
        return cls(scheme=parts.scheme, host=parts.netloc, path_prefix=prefix, extra_paths=extra)

    def contains(self, url: str) -> bool:
        """Whether the normalised ``url`` is inside this scope."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        if parts.scheme != self.scheme or parts.netloc != self.host:
            return False
        path = parts.path or "/"
        return path.startswith(self.path_prefix) or path in self.extra_paths
