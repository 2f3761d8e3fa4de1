"""The documentation sites the benchmark crawls: Debian doc packages unpacked in a cache dir.

Each corpus is one Debian package (fetched with ``apt-get download``, unpacked with
``dpkg -x``), the folder of it that is served as the site root, and the start page. The crawl
scope is the start page's directory, so the pages a crawler should find are the ``.html``
files under that directory.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Corpus:
    """A Debian doc package served as a site; ``start_path`` is the URL path of the start page."""

    name: str
    title: str
    package: str
    html_dir: str  # inside the unpacked package
    start_path: str
    #: Places where the package may already be unpacked (a ``root/`` made by ``dpkg -x``).
    seeds: tuple[Path, ...] = ()

    @property
    def scope_dir(self) -> str:
        """The start page's directory as a URL path, ending in ``/``."""
        return self.start_path.rsplit("/", 1)[0] + "/"


CORPORA = {
    "python": Corpus(
        name="python",
        title="python3.11-doc library/",
        package="python3.11-doc",
        html_dir="usr/share/doc/python3.11/html",
        start_path="/library/index.html",
        seeds=(Path("/work/cache/debdocs/root"),),
    ),
    "postgres": Corpus(
        name="postgres",
        title="postgresql-doc-15",
        package="postgresql-doc-15",
        html_dir="usr/share/doc/postgresql-doc-15/html",
        start_path="/index.html",
    ),
}


def prepare(corpus: Corpus, cache_dir: Path) -> Path:
    """The site root of ``corpus``, downloading and unpacking the package into ``cache_dir``."""
    for root in (*corpus.seeds, cache_dir / corpus.name / "root"):
        if (root / corpus.html_dir / corpus.start_path.lstrip("/")).is_file():
            return root / corpus.html_dir
    work = cache_dir / corpus.name
    debs = work / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    if not list(debs.glob(f"{corpus.package}_*.deb")):
        _apt_download(corpus.package, debs)
    deb = sorted(debs.glob(f"{corpus.package}_*.deb"))[-1]
    staging = work / "root.partial"
    shutil.rmtree(staging, ignore_errors=True)
    subprocess.run(["dpkg", "-x", str(deb), str(staging)], check=True)
    staging.rename(work / "root")
    return work / "root" / corpus.html_dir


def _apt_download(package: str, into: Path) -> None:
    """``apt-get download`` into ``into``; on failure run ``apt-get update`` once and retry."""
    command = ["apt-get", "download", "-q", package]
    if subprocess.run(command, cwd=into, check=False).returncode == 0:
        return
    print(f"apt-get download {package} failed; running apt-get update and retrying", flush=True)
    subprocess.run(["apt-get", "update", "-q"], check=True)
    subprocess.run(command, cwd=into, check=True)


def in_scope_pages(corpus: Corpus, site_root: Path) -> frozenset[str]:
    """URL paths of the HTML pages inside the crawl scope, e.g. ``/library/os.html``."""
    scope = site_root / corpus.scope_dir.lstrip("/")
    return frozenset(
        "/" + path.relative_to(site_root).as_posix()
        for path in scope.rglob("*.html")
        if path.is_file()
    )
