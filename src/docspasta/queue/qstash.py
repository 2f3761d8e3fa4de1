"""The ``qstash`` backend: Upstash QStash pushes every task over HTTP to ``/api/v5/process``.

This process only publishes. QStash delivers each message to ``{public_url}/api/v5/process``
signed with ``Upstash-Signature`` (an HS256 JWT naming that URL and the body's SHA-256); the
webhook (``docspasta.api.process_routes``) checks it with :class:`SignatureVerifier` and runs the
handler; a non-2xx answer makes QStash deliver it again, up to ``qstash_retries`` times. ``start``
and ``stop`` consume nothing, ``depth`` is 0: the messages wait in QStash.

Deduplication ids
-----------------
QStash remembers a deduplication id for a while after the publish, whatever became of the
message. ``Task.dedupe_key`` alone would then also swallow the legitimate re-dispatches of the
same work: the retry after a transient fetch error, and the sweeper's re-publish of a message
lost in transit. So the id is ::

    {dedupe_key}:a{attempt}:t{floor(published_at / window)}      window = the sweep interval

- ``a{attempt}``: the page's claims when the message was made. A retry is published by the
  claim that failed, which raised the count, so it never collides with the message it replaces.
- ``t{…}``: a time bucket as wide as the sweep interval. The sweeper re-publishes only work
  untouched for two intervals or whose lease (longer) expired, so its re-publish always lands in
  a later bucket than the message it replaces and gets through. Within one bucket the same task
  published twice (API instances sweeping at once, the SDK re-sending a publish whose answer was
  lost) is delivered once.

A duplicate that still gets through (two publishes either side of a bucket edge) costs one
handler call that finds nothing to do: every handler is idempotent (contract 1).

A publish that fails (QStash unreachable, a rate limit) is logged, not raised: the rows are
committed, and the sweeper re-publishes work whose message never left.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from docspasta.domain import Task
from docspasta.errors import BackendUnavailableError, InvalidOptionError
from docspasta.queue import TaskHandler
from docspasta.settings import Settings

if TYPE_CHECKING:
    from qstash import AsyncQStash, Receiver

log = logging.getLogger(__name__)

#: Where QStash delivers, under the service's public URL.
WEBHOOK_PATH = "/api/v5/process"
#: Publish requests in flight at once (one per task; a crawl's seeds come in hundreds).
PUBLISH_CONCURRENCY = 16
#: Seconds of clock difference with QStash tolerated on a signature's nbf/exp.
CLOCK_TOLERANCE_SECONDS = 5
#: The SDK re-sends a publish that got no answer this many times (same deduplication id).
PUBLISH_RESENDS = 2


def webhook_url(public_url: str) -> str:
    """The exact URL QStash calls, and that its signatures name."""
    return public_url.rstrip("/") + WEBHOOK_PATH


def dedupe_id(task: Task, *, published_at: float, window: float) -> str:
    """The message's QStash deduplication id (see the module docstring)."""
    return f"{task.dedupe_key}:a{task.attempt}:t{math.floor(published_at / window)}"


def _required(settings: Settings, name: str) -> str:
    value = getattr(settings, name)
    if not value:
        raise InvalidOptionError(name, "required with the qstash queue (DOCSPASTA_QUEUE=qstash)")
    return str(value)


class QStashQueue:
    """Publishes tasks to QStash (the official SDK); QStash pushes them to the webhook.

    ``publish`` never raises for a transport error: it logs, and the sweeper re-publishes.
    """

    def __init__(
        self,
        *,
        token: str,
        api_url: str,
        destination: str,
        retries: int,
        dedupe_window: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        try:
            import qstash  # noqa: F401  (fail at start, with the install hint)
        except ImportError as exc:
            raise BackendUnavailableError("qstash", "qstash") from exc
        self._token = token
        self._api_url = api_url
        self.destination = destination
        self._retries = retries
        self._window = dedupe_window
        self._clock = clock
        self._client: AsyncQStash | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> QStashQueue:
        """The queue configured by ``DOCSPASTA_QSTASH_*`` and ``DOCSPASTA_PUBLIC_URL``; every
        setting the webhook needs too is checked here, so a misconfigured server does not start."""
        _required(settings, "qstash_current_signing_key")
        return cls(
            token=_required(settings, "qstash_token"),
            api_url=settings.qstash_url,
            destination=webhook_url(_required(settings, "public_url")),
            retries=settings.qstash_retries,
            dedupe_window=settings.sweep_interval_seconds,
        )

    def _sdk_client(self) -> AsyncQStash:
        if self._client is None:
            from qstash import AsyncQStash
            from qstash.http import RetryConfig

            retry = RetryConfig(retries=PUBLISH_RESENDS, backoff=lambda n: 200.0 * 2**n)
            self._client = AsyncQStash(self._token, retry=retry, base_url=self._api_url)
        return self._client

    async def publish(self, tasks: Sequence[Task], *, delay: float = 0.0) -> None:
        if not tasks:
            return
        from httpx import HTTPError
        from qstash.errors import QStashError

        client = self._sdk_client()
        published_at = self._clock()
        seconds = math.ceil(delay) if delay > 0 else None  # Upstash-Delay takes whole units
        limit = asyncio.Semaphore(PUBLISH_CONCURRENCY)

        async def one(task: Task) -> None:
            async with limit:
                try:
                    await client.message.publish_json(
                        url=self.destination,
                        body=task.model_dump(mode="json"),
                        retries=self._retries,
                        delay=seconds,
                        deduplication_id=dedupe_id(
                            task, published_at=published_at, window=self._window
                        ),
                    )
                except (QStashError, HTTPError) as exc:
                    log.warning(
                        "publishing %s to QStash failed; the sweeper will re-publish it: %s",
                        task.dedupe_key,
                        exc,
                    )

        await asyncio.gather(*(one(task) for task in tasks))

    async def start(self, handler: TaskHandler) -> None:
        """Nothing to consume: QStash delivers to the webhook."""

    async def stop(self, grace: float = 0.0) -> None:
        """Close the publishing connections (a later publish opens new ones)."""
        client, self._client = self._client, None
        if client is not None:
            # The SDK has no close(); its httpx client would leave sockets to the collector.
            await client.http._client.aclose()

    @property
    def depth(self) -> int:
        """0: the messages wait in QStash, not in this process."""
        return 0


class SignatureVerifier:
    """Checks a delivery's ``Upstash-Signature`` with the SDK's ``Receiver``: signed with the
    current or the next signing key, naming exactly ``url``, not expired, for exactly this body."""

    def __init__(self, current_key: str, next_key: str | None, url: str) -> None:
        try:
            from qstash import Receiver
        except ImportError as exc:
            raise BackendUnavailableError("qstash", "qstash") from exc
        self._receiver: Receiver = Receiver(current_key, next_key or current_key)
        self.url = url

    @classmethod
    def from_settings(cls, settings: Settings) -> SignatureVerifier:
        return cls(
            _required(settings, "qstash_current_signing_key"),
            settings.qstash_next_signing_key,
            webhook_url(_required(settings, "public_url")),
        )

    def refusal(self, signature: str | None, body: bytes) -> str | None:
        """None when the delivery is genuine; else why it is refused (for the log only)."""
        if not signature:
            return "no Upstash-Signature header"
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return "the body is not UTF-8"
        try:
            self._receiver.verify(
                signature=signature,
                body=text,
                url=self.url,
                clock_tolerance=CLOCK_TOLERANCE_SECONDS,
            )
        except Exception as exc:  # SignatureError, or a malformed token's KeyError/TypeError
            return f"{type(exc).__name__}: {exc}"
        return None


__all__ = ["QStashQueue", "SignatureVerifier", "dedupe_id", "webhook_url"]
