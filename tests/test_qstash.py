"""The qstash queue: the real SDK publishes to a fake QStash (tests/support/fake_qstash.py), which
delivers signed messages to a real server's ``POST /api/v5/process``; no local workers run."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from docspasta.domain import Task, TaskKind
from docspasta.errors import BackendUnavailableError, InvalidOptionError
from docspasta.queue import create_queue
from docspasta.queue.qstash import QStashQueue, dedupe_id, webhook_url
from docspasta.settings import Settings
from tests.api.conftest import Service, start_service, stop_service
from tests.support.fake_qstash import FakeQStash, Message
from tests.support.http import FixtureServer
from tests.support.sites import EXPECTED_ORDER, serve_guide, source_paths
from tests.support.waiting import eventually

#: The service's public URL as QStash calls it; the fake routes it to the local server.
PUBLIC_URL = "https://docspasta.example.test"
WEBHOOK = f"{PUBLIC_URL}/api/v5/process"
TERMINAL = {"completed", "partial_success", "failed", "cancelled"}
UNKNOWN_JOB = "0b0b0b0b-1111-4222-8333-444444444444"
OTHER_KEY = "sig_someone_else_0123456789abcdef"


@pytest.fixture
def fake_qstash() -> Iterator[FakeQStash]:
    with FakeQStash() as fake:
        yield fake


def qstash_settings(settings: Settings, fake: FakeQStash, **update: Any) -> Settings:
    return settings.model_copy(
        update={
            "queue": "qstash",
            "qstash_url": fake.url,
            "qstash_token": fake.token,
            "qstash_current_signing_key": fake.current_signing_key,
            "qstash_next_signing_key": fake.next_signing_key,
            "qstash_retries": 5,
            "public_url": PUBLIC_URL,
            **update,
        }
    )


@contextlib.asynccontextmanager
async def qstash_service(
    settings: Settings, fake: FakeQStash, **update: Any
) -> AsyncIterator[Service]:
    """A server with the qstash queue and no local workers, behind the fake's "load balancer"."""
    service, task = await start_service(qstash_settings(settings, fake, **update), local_workers=0)
    fake.route(PUBLIC_URL, service.base_url)
    try:
        yield service
    finally:
        await stop_service(service, task)


async def crawl(service: Service, start: str) -> tuple[dict[str, Any], str]:
    """Start a crawl through the API, wait for its end; the job and its document."""
    async with service.client() as client:
        answer = await client.post("/api/v5/crawl", json={"url": start})
        assert answer.status_code == 202, answer.text
        job_url = f"/api/v5/jobs/{answer.json()['jobId']}"

        async def finished() -> bool:
            return (await client.get(job_url)).json()["status"] in TERMINAL

        await eventually(finished, within=30)
        job = (await client.get(job_url)).json()
        markdown = (await client.get(f"{job_url}/markdown")).text
    return job, markdown


def is_page_task(message: Message) -> bool:
    return bool(message.json()["kind"] == TaskKind.PROCESS_PAGE.value)


# -- the whole round trip -----------------------------------------------------------------------


async def test_a_crawl_pushed_by_qstash_equals_the_local_crawl(
    settings: Settings,
    database_url: str,
    fake_qstash: FakeQStash,
    fixture_server: FixtureServer,
    tmp_path: Path,
) -> None:
    start = serve_guide(fixture_server)
    local_settings = settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'local.db'}"}
    )
    local, task = await start_service(local_settings)
    try:
        local_job, local_markdown = await crawl(local, start)
    finally:
        await stop_service(local, task)
    assert local_job["status"] == "completed"

    async with qstash_service(
        settings.model_copy(update={"database_url": database_url}), fake_qstash
    ) as service:
        job, markdown = await crawl(service, start)
    assert job["status"] == "completed", job
    assert job["progress"]["completed"] == len(EXPECTED_ORDER)
    assert markdown == local_markdown
    assert source_paths(markdown, fixture_server.base_url) == EXPECTED_ORDER

    messages = fake_qstash.messages
    kinds = [m.json()["kind"] for m in messages]
    assert kinds.count("start-crawl") == 1
    assert kinds.count("finalize") >= 1
    assert {m.json()["page_id"] for m in messages if is_page_task(m)} >= set(
        range(1, len(EXPECTED_ORDER) + 1)
    )
    for message in messages:
        assert message.destination == WEBHOOK
        assert message.publish_headers["upstash-retries"] == "5"
        assert message.publish_headers["content-type"] == "application/json"
        task_key = Task.model_validate_json(message.body).dedupe_key
        assert message.publish_headers["upstash-deduplication-id"].startswith(f"{task_key}:a")
    assert all(d.status == 200 for d in fake_qstash.deliveries)
    assert fake_qstash.dead == []


async def test_duplicate_deliveries_are_harmless(
    settings: Settings, fake_qstash: FakeQStash, fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server)
    fake_qstash.duplicate(lambda message: True)  # every message delivered twice, at once
    async with qstash_service(settings, fake_qstash) as service:
        job, markdown = await crawl(service, start)
        async with service.client() as client:
            pages = (await client.get(f"/api/v5/jobs/{job['id']}/pages")).json()
    assert job["status"] == "completed"
    assert job["progress"]["completed"] == len(EXPECTED_ORDER)
    assert job["progress"]["discovered"] == len(EXPECTED_ORDER)
    assert source_paths(markdown, fixture_server.base_url) == EXPECTED_ORDER
    assert len(pages["pages"]) == len(EXPECTED_ORDER)
    duplicates = [d for d in fake_qstash.deliveries if d.duplicate]
    assert len(duplicates) == len(fake_qstash.messages)
    assert all(d.status == 200 for d in fake_qstash.deliveries)


async def test_a_failing_handler_answers_5xx_and_the_redelivery_completes_the_page(
    settings: Settings, sqlite_url: str, fake_qstash: FakeQStash, fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server)
    database = sqlite_url.removeprefix("sqlite+aiosqlite:///")
    # No sweep during the test: only QStash's redelivery can finish the page.
    async with qstash_service(settings, fake_qstash, sweep_interval_seconds=60.0) as service:
        # A real database error while the page is claimed: the handler raises.
        async with aiosqlite.connect(database, timeout=30) as db:
            await db.execute(
                "CREATE TRIGGER injected_fault BEFORE UPDATE OF status ON crawled_pages "
                "WHEN NEW.status = 'processing' AND NEW.url LIKE '%/docs/guide/usage.html' "
                "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
            )
            await db.commit()
        async with service.client() as client:
            answer = await client.post("/api/v5/crawl", json={"url": start})
            job_url = f"/api/v5/jobs/{answer.json()['jobId']}"

            async def failed_once() -> bool:
                return any(d.status == 500 for d in fake_qstash.deliveries)

            await eventually(failed_once)
            async with aiosqlite.connect(database, timeout=30) as db:
                await db.execute("DROP TRIGGER injected_fault")
                await db.commit()

            async def finished() -> bool:
                return (await client.get(job_url)).json()["status"] in TERMINAL

            await eventually(finished, within=30)
            job = (await client.get(job_url)).json()
    assert job["status"] == "completed"
    assert job["progress"]["completed"] == len(EXPECTED_ORDER)
    failed = next(d for d in fake_qstash.deliveries if d.status == 500)
    statuses = [d.status for d in fake_qstash.deliveries_of(failed.message_id)]
    assert statuses[0] == 500, statuses
    assert statuses[-1] == 200, statuses
    assert fake_qstash.dead == []


async def test_the_sweeper_republishes_a_message_lost_in_transit(
    settings: Settings, fake_qstash: FakeQStash, fixture_server: FixtureServer
) -> None:
    start = serve_guide(fixture_server)
    fake_qstash.drop(is_page_task)  # the start page's task: accepted, never delivered
    async with qstash_service(settings, fake_qstash) as service:
        job, markdown = await crawl(service, start)
    assert job["status"] == "completed"
    assert source_paths(markdown, fixture_server.base_url) == EXPECTED_ORDER
    dropped = [m for m in fake_qstash.messages if m.state == "dropped"]
    assert len(dropped) == 1
    lost = Task.model_validate_json(dropped[0].body)
    again = [
        m
        for m in fake_qstash.messages
        if m.state == "delivered" and Task.model_validate_json(m.body) == lost
    ]
    assert again, "the sweeper published the lost task again"
    assert (
        again[0].publish_headers["upstash-deduplication-id"]
        != dropped[0].publish_headers["upstash-deduplication-id"]
    )


# -- the webhook's door -------------------------------------------------------------------------


def _task_body(job_id: str = UNKNOWN_JOB) -> bytes:
    return json.dumps({"kind": "start-crawl", "job_id": job_id, "page_id": None}).encode()


async def test_forged_deliveries_are_refused_with_401(
    settings: Settings, fake_qstash: FakeQStash
) -> None:
    body = _task_body()
    async with qstash_service(settings, fake_qstash) as service:
        local_url = f"{service.base_url}/api/v5/process"
        cases = {
            "unsigned": ({}, body),
            "tampered body": (
                {"Upstash-Signature": fake_qstash.sign(WEBHOOK, body)},
                _task_body("0c0c0c0c-1111-4222-8333-444444444444"),
            ),
            "wrong url": ({"Upstash-Signature": fake_qstash.sign(local_url, body)}, body),
            "expired": (
                {"Upstash-Signature": fake_qstash.sign(WEBHOOK, body, now=time.time() - 3600)},
                body,
            ),
            "not yet valid": (
                {"Upstash-Signature": fake_qstash.sign(WEBHOOK, body, now=time.time() + 3600)},
                body,
            ),
            "unknown key": (
                {"Upstash-Signature": fake_qstash.sign(WEBHOOK, body, key=OTHER_KEY)},
                body,
            ),
            "not a jwt": ({"Upstash-Signature": "garbage"}, body),
        }
        async with service.client() as client:
            for case, (headers, content) in cases.items():
                answer = await client.post(
                    "/api/v5/process",
                    content=content,
                    headers={"content-type": "application/json", **headers},
                )
                assert answer.status_code == 401, case
                error = answer.json()["error"]
                assert error["code"] == "unauthorized", case
                assert error["message"] == "missing or invalid Upstash-Signature", case


async def test_genuine_deliveries_are_parsed_and_run(
    settings: Settings, fake_qstash: FakeQStash
) -> None:
    async with qstash_service(settings, fake_qstash) as service, service.client() as client:

        async def deliver(body: bytes, key: str | None = None) -> Any:
            signature = fake_qstash.sign(WEBHOOK, body, key=key)
            return await client.post(
                "/api/v5/process", content=body, headers={"Upstash-Signature": signature}
            )

        # A job that does not exist (deleted, or never was): done, nothing to do.
        for kind, page_id in (("start-crawl", None), ("process-page", 3), ("finalize", None)):
            body = json.dumps({"kind": kind, "job_id": UNKNOWN_JOB, "page_id": page_id})
            answer = await deliver(body.encode())
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"status": "done"}
        # Signed with the next key (keys being rotated): accepted.
        assert (await deliver(_task_body(), key=fake_qstash.next_signing_key)).status_code == 200
        # Signed but not a task: 422.
        for malformed in (b"{}", b"not json", _task_body("not-a-uuid")):
            assert (await deliver(malformed)).status_code == 422, malformed
        assert (await deliver("é".encode("latin-1"))).status_code == 401  # not UTF-8
        answer = await deliver(b'{"kind": "sweep", "job_id": "x"}')
        assert answer.status_code == 422
        assert answer.json()["error"]["field"] == "body"
        huge = b'{"kind": "finalize", "job_id": "' + b"x" * 20_000 + b'"}'
        assert (await deliver(huge)).status_code == 413


async def test_the_webhook_is_absent_with_another_queue(settings: Settings) -> None:
    service, task = await start_service(settings, local_workers=0)
    try:
        async with service.client() as client:
            answer = await client.post("/api/v5/process", content=_task_body())
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
    finally:
        await stop_service(service, task)


# -- the publisher ------------------------------------------------------------------------------


def test_dedupe_ids_let_retries_and_sweeps_through_but_not_duplicates() -> None:
    task = Task(kind=TaskKind.PROCESS_PAGE, job_id=UNKNOWN_JOB, page_id=7)
    retry = task.model_copy(update={"attempt": 1})
    window = 15.0
    first = dedupe_id(task, published_at=1000.0, window=window)
    assert first == f"process-page:{UNKNOWN_JOB}:7:a0:t66"
    # The same task published again within the window (another API instance's sweep): dropped.
    assert dedupe_id(task, published_at=1004.0, window=window) == first
    # A retry carries the claim count: through at once.
    assert dedupe_id(retry, published_at=1000.5, window=window) != first
    # The sweeper re-publishes only after two intervals: always a later bucket.
    assert dedupe_id(task, published_at=1000.0 + 2 * window, window=window) != first


async def test_publish_sends_retries_delay_and_deduplication(
    settings: Settings, fake_qstash: FakeQStash
) -> None:
    fake_qstash.paused = True
    queue = create_queue(
        qstash_settings(settings, fake_qstash, sweep_interval_seconds=3600.0), concurrency=1
    )
    assert isinstance(queue, QStashQueue)
    assert queue.destination == WEBHOOK == webhook_url(PUBLIC_URL + "/")
    tasks = [Task(kind=TaskKind.PROCESS_PAGE, job_id=UNKNOWN_JOB, page_id=i) for i in (1, 2)]
    try:
        await queue.publish(tasks)
        await queue.publish(tasks)  # the same tasks in the same bucket: deduplicated
        before = time.time()
        await queue.publish([tasks[0].model_copy(update={"attempt": 1})], delay=1.2)
        assert queue.depth == 0
    finally:
        await queue.stop()
    assert len(fake_qstash.messages) == 3
    assert len(fake_qstash.deduplicated) == 2
    delayed = fake_qstash.messages[-1]
    assert delayed.publish_headers["upstash-delay"] == "2s"
    assert delayed.not_before >= before + 1.9
    assert sorted(m.json()["page_id"] for m in fake_qstash.messages[:2]) == [1, 2]
    assert delayed.json()["page_id"] == 1
    assert fake_qstash.messages[0].json()["attempt"] == 0
    assert delayed.json()["attempt"] == 1


async def test_a_failed_publish_is_logged_for_the_sweeper(
    settings: Settings, fake_qstash: FakeQStash, caplog: pytest.LogCaptureFixture
) -> None:
    queue = create_queue(
        qstash_settings(settings, fake_qstash, qstash_token="wrong-token"), concurrency=1
    )
    task = Task(kind=TaskKind.START_CRAWL, job_id=UNKNOWN_JOB)
    with caplog.at_level(logging.WARNING, logger="docspasta.queue.qstash"):
        try:
            await queue.publish([task])
        finally:
            await queue.stop()
    assert fake_qstash.messages == []
    assert task.dedupe_key in caplog.text
    assert "the sweeper will re-publish it" in caplog.text


@pytest.mark.parametrize("missing", ["qstash_token", "qstash_current_signing_key", "public_url"])
def test_the_qstash_queue_names_a_missing_setting(
    settings: Settings, fake_qstash: FakeQStash, missing: str
) -> None:
    with pytest.raises(InvalidOptionError) as raised:
        create_queue(qstash_settings(settings, fake_qstash, **{missing: None}), concurrency=1)
    assert raised.value.field == missing


def test_without_the_sdk_the_backend_says_how_to_install_it(
    settings: Settings, fake_qstash: FakeQStash, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "qstash", None)  # import qstash -> ImportError
    with pytest.raises(BackendUnavailableError, match=r"pip install 'docspasta\[qstash\]'"):
        create_queue(qstash_settings(settings, fake_qstash), concurrency=1)
