"""A fake Upstash QStash on 127.0.0.1: the real SDK publishes to it, the real ``Receiver``
verifies what it delivers.

::

    with FakeQStash() as fake:
        fake.route("https://docspasta.example.test", service.base_url)
        ...  # settings.qstash_url = fake.url; the app publishes, the fake delivers
        assert [d.status for d in fake.deliveries] == [200, ...]

It implements what the SDK's ``message.publish`` sends — ``POST /v2/publish/{destination}`` with
``Authorization: Bearer <token>``, ``Upstash-Deduplication-Id`` (or
``Upstash-Content-Based-Deduplication``), ``Upstash-Delay`` / ``Upstash-Not-Before``,
``Upstash-Retries``, ``Upstash-Method``, ``Upstash-Forward-*`` — and answers as QStash does:
201 ``{"messageId"}``, or 202 with the first message's id for a duplicate deduplication id.

Each message is then delivered as QStash delivers: an HTTP request to the destination carrying
``Upstash-Signature`` (an HS256 JWT signed with the current signing key: iss "Upstash", sub = the
destination URL as published, iat/nbf/exp, jti, body = base64url SHA-256 of the body),
``Upstash-Message-Id`` and ``Upstash-Retried``; a non-2xx answer or no answer is retried with
backoff up to the message's retries, then the message goes to ``dead`` (QStash's DLQ).

``route(public, local)`` plays the load balancer in front of the service: a destination under
``public`` is delivered to ``local``, and the signature still names the public URL. For faults:
``drop`` accepts messages and never delivers them (lost in transit), ``duplicate`` delivers a
message twice at once (at-least-once delivery), ``paused`` keeps messages undelivered.

A stdlib ``ThreadingHTTPServer`` takes publishes; a scheduler thread hands due messages to a
pool of delivery threads (sync httpx, ``trust_env=False``). ``stop()`` joins every thread.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import heapq
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import httpx
import jwt

PUBLISH_PREFIX = "/v2/publish/"
DEFAULT_RETRIES = 3
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass
class Message:
    """One accepted publish."""

    id: str
    destination: str
    body: bytes
    method: str
    headers: dict[str, str]
    """Headers delivered with it: Content-Type and the forwarded ones."""
    publish_headers: dict[str, str]
    """Every header of the publish request, as sent (lower-case names)."""
    retries: int
    not_before: float
    retried: int = 0
    state: str = "scheduled"  # scheduled | delivered | dead | dropped | paused

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt; ``status`` is None when the destination gave no answer."""

    message_id: str
    body: bytes
    status: int | None
    retried: int
    duplicate: bool = False

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Fault:
    matches: Callable[[Message], bool]
    remaining: int


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    message: Message = field(compare=False)
    duplicate: bool = field(default=False, compare=False)


def body_hash(body: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode()


def sign(
    key: str, url: str, body: bytes, *, now: float | None = None, lifetime: float = 300.0
) -> str:
    """An ``Upstash-Signature`` as QStash makes it."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": "Upstash",
        "sub": url,
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(lifetime),
        "jti": f"jwt_{uuid.uuid4().hex}",
        "body": body_hash(body),
    }
    return jwt.encode(claims, key, algorithm="HS256")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True

    def __init__(self, fake: FakeQStash) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _PublishHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up are normal in tests: stay quiet."""


class _PublishHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """No request log on stderr."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, answer = self.server.fake._publish(self.path, headers, body)
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class FakeQStash:
    """A local QStash: publish endpoint, signed deliveries, retries, delays, deduplication."""

    def __init__(
        self,
        *,
        token: str = "fake-qstash-token",
        current_signing_key: str = "sig_fake_current_key_0123456789abcdef",
        next_signing_key: str = "sig_fake_next_key_0123456789abcdef01",
        backoff: Callable[[int], float] = lambda retried: 0.2 * 2**retried,
        delivery_threads: int = 8,
        delivery_timeout: float = 30.0,
    ) -> None:
        self.token = token
        self.current_signing_key = current_signing_key
        self.next_signing_key = next_signing_key
        self.backoff = backoff
        self.paused = False
        self.messages: list[Message] = []
        self.deliveries: list[Delivery] = []
        self.dead: list[Message] = []
        self.deduplicated: list[str] = []
        """Deduplication ids of publishes that were answered 202 and not enqueued."""
        self._dedupe: dict[str, str] = {}
        self._routes: dict[str, str] = {}
        self._drops: list[_Fault] = []
        self._duplicates: list[_Fault] = []
        self._heap: list[_Due] = []
        self._seq = itertools.count()
        self._in_flight = 0
        self._lock = threading.Condition()
        self._stopping = False
        self._pool = ThreadPoolExecutor(delivery_threads, thread_name_prefix="fake-qstash")
        self._http = httpx.Client(trust_env=False, timeout=delivery_timeout)
        self._server = _Server(self)
        self._threads = [
            threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="fake-qstash-http",
                daemon=True,
            ),
            threading.Thread(target=self._schedule, name="fake-qstash-scheduler", daemon=True),
        ]

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeQStash:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._heap.clear()
            self._lock.notify_all()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def __enter__(self) -> FakeQStash:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- configuration and faults ------------------------------------------------------------

    def route(self, public_base: str, local_base: str) -> None:
        """Deliver destinations under ``public_base`` to ``local_base`` (a load balancer)."""
        with self._lock:
            self._routes[public_base.rstrip("/")] = local_base.rstrip("/")

    def drop(self, matches: Callable[[Message], bool], count: int = 1) -> None:
        """Accept the next ``count`` matching messages, and never deliver them."""
        with self._lock:
            self._drops.append(_Fault(matches, count))

    def duplicate(self, matches: Callable[[Message], bool], count: int = 1_000_000) -> None:
        """Deliver the next ``count`` matching messages twice, both at once."""
        with self._lock:
            self._duplicates.append(_Fault(matches, count))

    def resume(self) -> None:
        """Deliver what was published while ``paused``."""
        with self._lock:
            self.paused = False
            for message in self.messages:
                if message.state == "paused":
                    message.state = "scheduled"
                    self._push(message, message.not_before)

    def sign(
        self,
        url: str,
        body: bytes,
        *,
        key: str | None = None,
        now: float | None = None,
        lifetime: float = 300.0,
    ) -> str:
        return sign(key or self.current_signing_key, url, body, now=now, lifetime=lifetime)

    def idle(self) -> bool:
        """Nothing scheduled and nothing being delivered."""
        with self._lock:
            return not self._heap and self._in_flight == 0

    def deliveries_of(self, message_id: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.message_id == message_id]

    # -- the publish endpoint ----------------------------------------------------------------

    def _publish(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": "Unauthorized"}
        if not path.startswith(PUBLISH_PREFIX):
            return 404, {"error": "not found"}
        destination = path[len(PUBLISH_PREFIX) :]
        if not destination.startswith(("http://", "https://")):
            return 400, {"error": f"invalid destination: {destination}"}
        try:
            due = time.time() + _delay(headers)
            retries = int(headers.get("upstash-retries", DEFAULT_RETRIES))
        except ValueError as exc:
            return 400, {"error": str(exc)}
        dedupe_id = headers.get("upstash-deduplication-id")
        if dedupe_id is None and headers.get("upstash-content-based-deduplication") == "true":
            dedupe_id = hashlib.sha256(destination.encode() + b"\0" + body).hexdigest()
        forwarded = {
            name[len("upstash-forward-") :]: value
            for name, value in headers.items()
            if name.startswith("upstash-forward-")
        }
        if "content-type" in headers:
            forwarded["content-type"] = headers["content-type"]
        with self._lock:
            if dedupe_id is not None and dedupe_id in self._dedupe:
                self.deduplicated.append(dedupe_id)
                return 202, {"messageId": self._dedupe[dedupe_id], "deduplicated": True}
            message = Message(
                id=f"msg_{uuid.uuid4().hex}",
                destination=destination,
                body=body,
                method=headers.get("upstash-method", "POST"),
                headers=forwarded,
                publish_headers=dict(headers),
                retries=retries,
                not_before=due,
            )
            self.messages.append(message)
            if dedupe_id is not None:
                self._dedupe[dedupe_id] = message.id
            if _take(self._drops, message):
                message.state = "dropped"
            elif self.paused:
                message.state = "paused"
            else:
                self._push(message, due)
                if _take(self._duplicates, message):
                    self._push(message, due, duplicate=True)
        return 201, {"messageId": message.id}

    # -- delivery ----------------------------------------------------------------------------

    def _push(self, message: Message, at: float, *, duplicate: bool = False) -> None:
        """Schedule a delivery (the lock is held)."""
        heapq.heappush(self._heap, _Due(at, next(self._seq), message, duplicate))
        self._lock.notify_all()

    def _schedule(self) -> None:
        with self._lock:
            while not self._stopping:
                if not self._heap:
                    self._lock.wait()
                    continue
                wait = self._heap[0].at - time.time()
                if wait > 0:
                    self._lock.wait(wait)
                    continue
                due = heapq.heappop(self._heap)
                self._in_flight += 1
                try:
                    self._pool.submit(self._deliver, due.message, due.duplicate)
                except RuntimeError:  # the pool is shutting down
                    self._in_flight -= 1

    def _target(self, destination: str) -> str:
        for public, local in sorted(self._routes.items(), key=lambda r: -len(r[0])):
            if destination == public or destination.startswith(public + "/"):
                return local + destination[len(public) :]
        return destination

    def _deliver(self, message: Message, duplicate: bool) -> None:
        status: int | None = None
        try:
            headers = {
                **message.headers,
                "Upstash-Signature": self.sign(message.destination, message.body),
                "Upstash-Message-Id": message.id,
                "Upstash-Retried": str(message.retried),
                "User-Agent": "Upstash-QStash",
            }
            with self._lock:
                target = self._target(message.destination)
            with contextlib.suppress(httpx.HTTPError):
                response = self._http.request(
                    message.method, target, content=message.body, headers=headers
                )
                status = response.status_code
        finally:
            with self._lock:
                self.deliveries.append(
                    Delivery(message.id, message.body, status, message.retried, duplicate)
                )
                self._in_flight -= 1
                if not duplicate:
                    self._settle(message, status)
                self._lock.notify_all()

    def _settle(self, message: Message, status: int | None) -> None:
        """After a delivery: done on 2xx; else retried with backoff, or dead (the lock is held)."""
        if status is not None and 200 <= status < 300:
            message.state = "delivered"
        elif self._stopping:
            return
        elif message.retried < message.retries:
            message.retried += 1
            self._push(message, time.time() + self.backoff(message.retried - 1))
        else:
            message.state = "dead"
            self.dead.append(message)


def _delay(headers: dict[str, str]) -> float:
    not_before = headers.get("upstash-not-before")
    if not_before is not None:
        return max(0.0, int(not_before) - time.time())
    delay = headers.get("upstash-delay")
    if delay is None:
        return 0.0
    match = _DURATION.match(delay)
    if match is None:
        raise ValueError(f"invalid Upstash-Delay: {delay!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _take(faults: list[_Fault], message: Message) -> bool:
    for fault in faults:
        if fault.remaining > 0 and fault.matches(message):
            fault.remaining -= 1
            return True
    return False
