"""robots.txt policy: a small, pure wrapper over protego.

The fetcher downloads ``/robots.txt``; this module only interprets its text. How a fetch
outcome maps to a policy is the caller's choice; the usual one is: 2xx -> :meth:`from_text`,
404/410 (no file) -> :meth:`allow_all`, 5xx or unreachable -> :meth:`deny_all` for now.
"""

from __future__ import annotations

import logging

from protego import Protego

logger = logging.getLogger(__name__)


class RobotsPolicy:
    """What one robots.txt allows one user agent to do. Immutable once built."""

    __slots__ = ("_allow_everything", "_parser", "_user_agent")

    def __init__(self, parser: Protego | None, user_agent: str, *, allow: bool = True) -> None:
        """Prefer the constructors: :meth:`from_text`, :meth:`allow_all`, :meth:`deny_all`."""
        self._parser = parser
        self._user_agent = user_agent
        self._allow_everything = allow

    @classmethod
    def from_text(cls, text: str | None, user_agent: str) -> RobotsPolicy:
        """Parse a robots.txt body. ``None``, empty or unparsable text allows everything."""
        if text is None or not text.strip():
            return cls.allow_all(user_agent)
        try:
            parser = Protego.parse(text)
        except Exception:  # protego has no error type of its own; a bad file restricts nothing
            logger.warning("unparsable robots.txt for %s; allowing all", user_agent)
            return cls.allow_all(user_agent)
        return cls(parser, user_agent)

    @classmethod
    def allow_all(cls, user_agent: str = "*") -> RobotsPolicy:
        """A policy that allows every URL (no robots.txt, or an empty one)."""
        return cls(None, user_agent, allow=True)

    @classmethod
    def deny_all(cls, user_agent: str = "*") -> RobotsPolicy:
        """A policy that refuses every URL (robots.txt answered with a server error)."""
        return cls(None, user_agent, allow=False)

    @property
    def user_agent(self) -> str:
        """The user agent whose rules this policy applies."""
        return self._user_agent

    def allowed(self, url: str) -> bool:
        """Whether the user agent may fetch ``url`` (an absolute URL)."""
        if self._parser is None:
            return self._allow_everything
        return bool(self._parser.can_fetch(url, self._user_agent))

    @property
    def crawl_delay(self) -> float | None:
        """The ``Crawl-delay`` in seconds for the user agent, or ``None`` when not given."""
        if self._parser is None:
            return None
        delay = self._parser.crawl_delay(self._user_agent)
        return None if delay is None else float(delay)

    @property
    def sitemaps(self) -> list[str]:
        """The ``Sitemap:`` URLs the file lists, in file order (as written, not normalised)."""
        if self._parser is None:
            return []
        return [str(url) for url in self._parser.sitemaps]

    def __repr__(self) -> str:
        if self._parser is not None:
            kind = "parsed"
        else:
            kind = "allow_all" if self._allow_everything else "deny_all"
        return f"RobotsPolicy({kind}, user_agent={self._user_agent!r})"
