"""Small documentation sites served by the fixture server."""

from __future__ import annotations

from tests.support.http import FixtureServer

ROBOTS = "User-agent: *\nDisallow: /docs/guide/private/\n"


def page(title: str, body: str, nav: str = "") -> str:
    return (
        f"<!doctype html><html><head><title>{title} — Guide</title></head><body>"
        f"<header><a href='/'>Home</a></header><nav class='sidebar'>{nav}</nav>"
        f"<main><h1>{title}</h1>{body}</main><footer>© Example</footer></body></html>"
    )


G = "/docs/guide/"
NAV = (
    f"<a href='{G}intro.html'>Intro</a><a href='{G}install.html?utm_source=nav'>Install</a>"
    f"<a href='{G}usage.html'>Usage</a><a href='{G}api/'>API</a>"
    f"<a href='{G}private/secret.html'>Secret</a>"
)

#: path -> (title, body); the expected document order is EXPECTED_ORDER.
PAGES: dict[str, tuple[str, str]] = {
    "/docs/guide/": (
        "Guide",
        "<p>Start with the <a href='intro.html#top'>introduction</a>. See also "
        "<a href='/blog/'>the blog</a>, <a href='https://example.org/'>elsewhere</a>, "
        "<a href='mailto:a@b.c'>mail</a> and <a href='logo.png'>the logo</a>.</p>",
    ),
    "/docs/guide/intro.html": (
        "Introduction",
        "<p>Read <a href='usage.html'>usage</a> next.</p>"
        "<div class='highlight-python3'><div class='highlight'><pre>def hello():\n"
        "    return 'hi'\n</pre></div></div>",
    ),
    "/docs/guide/install.html": ("Installation", "<p>pip install it.</p>"),
    "/docs/guide/usage.html": (
        "Usage",
        "<table><tr><th>flag</th><th>meaning</th></tr><tr><td>-o</td><td>output</td></tr></table>",
    ),
    "/docs/guide/api/": ("API", "<p>See the <a href='ref.html'>reference</a>.</p>"),
    "/docs/guide/api/ref.html": ("Reference", "<p>Everything, documented.</p>"),
    "/docs/guide/private/secret.html": ("Secret", "<p>Never crawled.</p>"),
    "/blog/": ("Blog", "<p>Out of scope.</p>"),
}

#: The sidebar's order: each nav link's smallest key is (0, position) through the first page.
EXPECTED_ORDER = [
    "/docs/guide/",
    "/docs/guide/intro.html",
    "/docs/guide/install.html",
    "/docs/guide/usage.html",
    "/docs/guide/api/",
    "/docs/guide/api/ref.html",
]


def serve_guide(server: FixtureServer, delays: dict[str, float] | None = None) -> str:
    """Serve the guide site; returns its start URL."""
    delays = delays or {}
    server.add("/robots.txt", ROBOTS, content_type="text/plain")
    server.add("/docs/guide/logo.png", b"\x89PNG", content_type="image/png")
    for path, (title, body) in PAGES.items():
        server.add(path, page(title, body, NAV), delay=delays.get(path, 0.0))
    return server.url("/docs/guide/")


def source_paths(markdown: str, base_url: str) -> list[str]:
    """The page paths named by the document's ``Source:`` lines (after the header's)."""
    sources = [
        line[len("Source: ") :] for line in markdown.splitlines() if line.startswith("Source: ")
    ]
    return [s.removeprefix(base_url) for s in sources[1:]]
